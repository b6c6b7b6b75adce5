"""The config file (TOML in the user config dir): defaults for `run` and `serve`, each also a CLI flag."""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from voiceguide.packs.locate import scan_positions
from voiceguide.paths import user_config_dir

__all__ = ["CONFIG_FILE", "Config", "ConfigError", "default_config_path", "load_config"]

CONFIG_FILE = "config.toml"


class _ConfigModel(BaseModel):
    """What a config file may say; unknown keys are errors so a typo is not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pack: str = Field(default="facial-massage", min_length=1)
    input_device: str | int | None = None
    output_device: str | int | None = None
    volume: float = Field(default=0.8, ge=0.0, le=1.0)
    tempo: float | None = Field(default=None, ge=0.5, le=2.0)
    engine: Literal["auto", "vosk", "keywords", "pocketsphinx"] = "auto"
    model: str | None = None
    language: str | None = None
    tts: Literal["auto", "pyttsx3", "piper"] = "auto"
    voice: str | None = None
    data_dir: str | None = None
    echo_cancel: bool = True


@dataclass(frozen=True)
class Config:
    """Settings that `run` and `serve` start from; CLI flags override each one."""

    pack: str = "facial-massage"
    """Pack id or path guided when none is named."""
    input_device: str | int | None = None
    """Microphone name or index (None: the system default)."""
    output_device: str | int | None = None
    """Speaker name or index (None: the system default)."""
    volume: float = 0.8
    """Speaker volume, 0 to 1."""
    tempo: float | None = None
    """Starting tempo (None: the pack's, or the one remembered from last time)."""
    engine: str = "auto"
    """Recognizer: auto (vosk when a model is installed, else pocketsphinx), vosk or pocketsphinx."""
    model: str | None = None
    """Path of a vosk model folder."""
    language: str | None = None
    """Recognition language (None: the pack's)."""
    tts: str = "auto"
    """Narration engine: auto, pyttsx3 or piper."""
    voice: str | None = None
    """Narration voice name (None: the pack's)."""
    data_dir: str | None = None
    """Where history and checkpoints go (None: the user data dir)."""
    echo_cancel: bool = True
    """Take the speaker's own sound out of the microphone (needs the livekit wheel), so commands are heard mid-sentence."""

    def with_overrides(self, **flags: Any) -> Config:
        """A copy where each flag that was given (not None) replaces the config value."""
        known = {f.name for f in fields(self)}
        values = {k: v for k, v in flags.items() if k in known and v is not None}
        return Config(**{**{f.name: getattr(self, f.name) for f in fields(self)}, **values})


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
        model = _ConfigModel.model_validate(data)
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
                close = difflib.get_close_matches(key, list(_ConfigModel.model_fields), n=1)
                msg = f"unknown key (did you mean '{close[0]}'?)" if close else (
                    f"unknown key (known: {', '.join(_ConfigModel.model_fields)})")
            lines.append(f"{prefix}: {key}: {msg}")
        raise ConfigError("\n".join(dict.fromkeys(lines))) from exc
    return Config(**model.model_dump())
