"""`voiceguide run`: the main job — guide a routine by voice, or by keyboard where there is no microphone."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from voiceguide.cli import UsageError, UserError, checks
from voiceguide.config import Config, ConfigError, load_config

if TYPE_CHECKING:
    from voiceguide.core.commands import Vocabulary
    from voiceguide.packs.loader import LoadedPack
    from voiceguide.runtime.plan import RunSettings
    from voiceguide.session.transcript import Entry
    from voiceguide.speech.base import Recognizer
    from voiceguide.store import Store

__all__ = ["register", "add_settings_arguments", "load_settings", "run_settings", "packs_folder", "device_probe",
           "listener_factory", "transcript_writer", "run_until_stopped"]


def register(sub: argparse._SubParsersAction, groups: dict[str, argparse._SubParsersAction]) -> None:
    """Add `run`."""
    p = sub.add_parser("run", help="guide a routine: listens for commands and narrates (the main job)")
    add_settings_arguments(p)
    p.add_argument("--input-wav", type=checks.wav_file, default=None, metavar="FILE",
                   help="listen to a WAV file instead")
    p.add_argument("--output-wav", type=checks.output_file, default=None, metavar="FILE",
                   help="write the sound to a WAV file instead")
    p.add_argument("--fast", action="store_true", help="with --input-wav: as fast as possible (virtual time)")
    p.add_argument("--console", action="store_true", help="type commands and read the narration")
    p.add_argument("--hold-seconds", type=checks.number(above=0, high=86400, what="a number of seconds"),
                   default=None,
                   help="release a preparation step after this long without 'next' (default: wait)")
    p.set_defaults(handler=cmd_run)


_CHECKS: dict[str, Callable[[str], Any]] = {"device": checks.device, "existing_dir": checks.existing_dir,
                                              "writable_dir": checks.writable_dir, "number": float}
"""The checks a setting's `check` names (config.py), as argparse types."""


def add_settings_arguments(p: argparse.ArgumentParser) -> None:
    """The flags `run` and `serve` share: one per config key (made from the settings model), plus where packs,
    history and renderings live."""
    for name, info in Config.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        flag, check, metavar = extra.get("flag"), extra.get("check"), extra.get("metavar")
        kwargs: dict[str, Any] = {"help": info.description, "default": None}
        if metavar:
            kwargs["metavar"] = metavar
        if check:
            kwargs["type"] = _CHECKS[str(check)]
        choices = getattr(info.annotation, "__args__", None)
        if choices and all(isinstance(c, str) for c in choices):
            kwargs["choices"] = list(choices)
        if flag == "":
            p.add_argument(name, nargs="?", **kwargs)
        elif info.annotation is bool:  # a switch that turns the default off
            p.add_argument(str(flag), dest=name, action="store_false", default=None, help=info.description)
        else:
            p.add_argument(str(flag or "--" + name.replace("_", "-")), dest=name, **kwargs)
    p.add_argument("--packs-dir", type=checks.existing_dir, default=None,
                   help="folder of your own packs (default: the user data dir's packs/)")
    p.add_argument("--cache-dir", type=checks.writable_dir, default=None, help="render cache for narration")
    p.add_argument("--config", type=checks.config_file, default=None,
                   help="config file (default: the user config dir's)")
    p.add_argument("--json", action="store_true", help="transcript as one JSON object per line")


def load_settings(args: argparse.Namespace, config_error: type[UserError] = UserError) -> Config:
    """The config file with the flags of `add_settings_arguments` over it; bad values are one message."""
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        raise config_error(str(exc)) from exc
    flags = {name: getattr(args, name, None) for name in Config.model_fields}
    flags = {name: str(value) if isinstance(value, Path) else value for name, value in flags.items()}
    try:
        return config.with_overrides(**flags)
    except ValidationError as exc:
        name = str(exc.errors()[0]["loc"][0])
        info = Config.model_fields[name]
        bounds = {type(m).__name__: m for m in info.metadata}
        low, high = getattr(bounds.get("Ge"), "ge", None), getattr(bounds.get("Le"), "le", None)
        what = f"must be between {low:g} and {high:g}" if low is not None and high is not None else "is not valid"
        raise UsageError(f"--{name.replace('_', '-')} {what}") from exc


def run_settings(config: Config, args: argparse.Namespace, loaded: LoadedPack, **run_only: Any) -> RunSettings:
    """RunSettings for guiding `loaded` (its language and voice pick the narration engine).

    `run_only`: RunSettings fields only `run` has flags for (input_wav, fast…), and `hold_timeout`.
    """
    from voiceguide.runtime.plan import RunSettings
    from voiceguide.session.settings import SessionSettings
    from voiceguide.voice.factory import resolve_engine

    hold_timeout = run_only.pop("hold_timeout", None)
    return RunSettings(
        input_device=config.input_device, output_device=config.output_device,
        input_device_explicit=args.input_device is not None, output_device_explicit=args.output_device is not None,
        engine=config.engine, model=Path(config.model) if config.model else None, language=config.language,
        tts=resolve_engine(config.tts, loaded.pack.pack.language, config.voice or loaded.pack.voice.name),
        voice=config.voice, volume=config.volume, cache_dir=args.cache_dir, json=args.json,
        echo_cancel=config.echo_cancel,
        session=SessionSettings(tempo=config.tempo, hold_timeout=hold_timeout,
                                data_dir=Path(config.data_dir) if config.data_dir else None),
        **run_only,
    )


def transcript_writer(as_json: bool) -> Callable[[Entry], None]:
    """Print each transcript entry as it happens: a readable line, or one JSON object per line."""

    def write(entry: Entry) -> None:
        print(json.dumps(entry.as_dict(), ensure_ascii=False) if as_json else entry.as_line(), flush=True)

    return write


def packs_folder(args: argparse.Namespace) -> Path:
    """Where the user's own packs are looked up by id (`--packs-dir`, else the user data dir's)."""
    from voiceguide.paths import user_packs_dir

    return args.packs_dir if args.packs_dir is not None else user_packs_dir()


def device_probe(direction: str, spec: str | int | None) -> str | None:
    """None when the device can be used, else a one-line reason."""
    from voiceguide.audio.devices import AudioUnavailable, DeviceError, find_device

    try:
        find_device(spec, direction)  # type: ignore[arg-type]
    except (AudioUnavailable, DeviceError) as exc:
        return str(exc)
    return None


def listener_factory(settings: RunSettings, language: str, vocabulary: Vocabulary, *,
                     idle: bool = False, notice: bool = True) -> Callable[[], Recognizer]:
    """The recognizer for this run (checked now, loaded when the run starts); its notice is printed once.

    `idle`: for `serve`'s waiting grammar, which decides at the end of an utterance, never early, so that
    "start" is not taken before the "facial massage" that follows it.
    """
    import dataclasses

    from voiceguide.speech.base import EngineUnavailable, RecognitionSettings
    from voiceguide.speech.factory import choose_engine, create_recognizer

    recognition = RecognitionSettings(engine=settings.engine, language=settings.language or language,
                                      model=settings.model)
    if idle:
        recognition = dataclasses.replace(recognition, early_seconds=0.0, stable_partials=1_000_000)
    try:
        engine, _, message = choose_engine(recognition)
    except EngineUnavailable as exc:
        raise UserError(str(exc)) from exc
    if message and notice:
        print(message, file=sys.stderr)

    def factory() -> Recognizer:
        recognizer, _ = create_recognizer(recognition, vocabulary)
        return recognizer

    return factory


def cmd_run(args: argparse.Namespace) -> int:
    """Parse → settings → check → build → run."""
    from voiceguide.cli.pack import open_pack
    from voiceguide.cli.session import _open_store
    from voiceguide.packs.vocabulary import pack_vocabulary
    from voiceguide.runtime.plan import plan_io
    from voiceguide.runtime.runner import Runner

    config = load_settings(args)
    if args.fast and args.input_wav is None:
        raise UsageError("--fast goes with --input-wav")
    if args.output_wav is not None and args.input_wav is None and not args.console:
        raise UsageError("--output-wav goes with --input-wav or --console (a live run plays to a speaker)")

    loaded = open_pack(config.pack, packs_folder(args))
    settings = run_settings(config, args, loaded, input_wav=args.input_wav, output_wav=args.output_wav,
                            fast=args.fast, console=args.console, hold_timeout=args.hold_seconds)
    data_dir = settings.session.data_dir
    try:
        plan = plan_io(settings, device_probe)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    for notice in plan.notices:
        print(notice, file=sys.stderr)

    vocabulary = pack_vocabulary(loaded.pack)
    listen = None
    if plan.listen in ("mic", "wav"):
        listen = listener_factory(settings, loaded.pack.pack.language, vocabulary)

    store = _open_store(data_dir)
    runner = Runner(loaded, settings, plan, store, vocabulary, transcript_writer(args.json), listen)
    if plan.listen == "keyboard":
        print("Type a command and press Enter (help lists them; Ctrl-D ends).", file=sys.stderr)
    from voiceguide.audio.clip import AudioFileError
    from voiceguide.audio.devices import DeviceError
    from voiceguide.audio.factory import NoDevice
    from voiceguide.voice.base import VoiceError

    try:
        run_until_stopped(runner, store)
    except (AudioFileError, DeviceError, NoDevice, VoiceError) as exc:
        raise UserError(str(exc)) from exc
    return 0


def run_until_stopped(target: Any, store: Store) -> None:
    """`target.run()` (a Runner or a Server) until it ends; SIGTERM or Ctrl-C call `target.stop()` (the place
    stays saved, exit 0 as systemd expects); the history is closed after, whatever happened."""
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, lambda *_: target.stop())
    try:
        target.run()
    except KeyboardInterrupt:
        target.stop()
    finally:
        signal.signal(signal.SIGTERM, previous)
        store.close()
