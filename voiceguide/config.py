"""The config file (TOML in the user config dir): defaults for `run` and `serve`, each also a CLI flag."""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from voiceguide.audio.mixer import DEFAULT_VOLUME
from voiceguide.packs.locate import scan_positions
from voiceguide.paths import user_config_dir

__all__ = ["CONFIG_FILE", "Config", "ConfigError", "default_config_path", "load_config"]

CONFIG_FILE = "config.toml"


def _setting(default: Any, help: str, *, flag: str | None = None, check: str | None = None,
             metavar: str | None = None, **bounds: Any) -> Any:
    """One setting: its default, the help its flag shows, and how the flag is spelled and checked.

    `flag`: the command-line spelling (default: --the-key-with-dashes; "" for the positional pack);
    `check`: the name of the CLI's check for the value (cli/checks.py: device, existing_dir, writable_dir,
    number); `bounds`: pydantic constraints (ge, le, min_length), for the file and the flag alike.
    """
    extra: dict[str, Any] = {"flag": flag, "check": check, "metavar": metavar}
    return Field(default=default, description=help, json_schema_extra=extra, **bounds)


class Config(BaseModel):
    """The settings `run` and `serve` start from: each is a config file key and a flag, with one default.

    The file is validated by this model (unknown keys are errors, so a typo is not silently ignored);
    the flags are made from its fields (cli/run.py: add_settings_arguments), and override the file.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    pack: str = _setting("facial-massage", "a folder, a pack.toml or a pack id (default: the config's, else "
                         "facial-massage)", flag="", metavar="PACK", min_length=1)
    input_device: str | int | None = _setting(None, "microphone (see `voiceguide devices`)", check="device",
                                              metavar="NAME|INDEX")
    output_device: str | int | None = _setting(None, "speaker", check="device", metavar="NAME|INDEX")
    engine: Literal["auto", "vosk", "keywords", "pocketsphinx"] = _setting(
        "auto", "speech recognizer (auto: vosk when a model is installed, else the built-in English one)")
    model: str | None = _setting(None, "vosk model folder", check="existing_dir", metavar="PATH")
    language: str | None = _setting(None, "recognition language (default: the pack's)")
    tts: Literal["auto", "piper", "pyttsx3"] = _setting(
        "auto", "narration engine (auto: Piper where it has a voice for the language, else pyttsx3)")
    voice: str | None = _setting(None, "narration voice (see `voiceguide voices`; default: the pack's)")
    volume: float = _setting(DEFAULT_VOLUME, f"speaker volume 0–1 (default {DEFAULT_VOLUME:g})", check="number",
                             ge=0.0, le=1.0)
    tempo: float | None = _setting(None, "starting tempo 0.5–2 (default: the pack's, or remembered)",
                                   check="number", ge=0.5, le=2.0)
    data_dir: str | None = _setting(None, "where history and checkpoints are kept", check="writable_dir")
    echo_cancel: bool = _setting(True, "keep the speaker's own sound in the mic (commands then heard only between "
                                 "sentences); echo cancellation needs the livekit wheel", flag="--no-echo-cancel")

    def with_overrides(self, **flags: Any) -> Config:
        """A copy where each flag that was given (not None) replaces the value (ValidationError when out of bounds)."""
        values = {k: v for k, v in flags.items() if k in type(self).model_fields and v is not None}
        return type(self).model_validate({**self.model_dump(), **values})


class ConfigError(Exception):
    """A config file that cannot be used; the message names the file, line and key."""


def default_config_path() -> Path:
    """`~/.config/voiceguide/config.toml` on Linux."""
    return user_config_dir() / CONFIG_FILE


def load_config(path: Path | None = None, *, required: bool = False) -> Config:
    """Read a config file; a missing default file means defaults, a broken one is a ConfigError."""
    file = path if path is not None else default_config_path()
    if not file.is_file():
        if required or path is not None:
            raise ConfigError(f"{file}: no such config file")
        return Config()
    try:
        text = file.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{file}: not UTF-8 text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: TOML syntax error: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror}") from exc
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        positions = scan_positions(text)
        lines = []
        for err in exc.errors(include_url=False):
            key = ".".join(str(p) for p in err["loc"] if not str(p).startswith(("function-", "literal")))
            key = key.split(".")[0] if err["type"] != "extra_forbidden" else key
            where = positions.find(err["loc"][:1])
            prefix = f"{file}:{where[0]}" if where else str(file)
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                close = difflib.get_close_matches(key, list(Config.model_fields), n=1)
                msg = f"unknown key (did you mean '{close[0]}'?)" if close else (
                    f"unknown key (known: {', '.join(Config.model_fields)})")
            lines.append(f"{prefix}: {key}: {msg}")
        raise ConfigError("\n".join(dict.fromkeys(lines))) from exc
    return config
