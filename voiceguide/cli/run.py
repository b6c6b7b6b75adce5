"""`voiceguide run`: the main job — guide a routine by voice, or by keyboard where there is no microphone."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from voiceguide.cli import UsageError, UserError
from voiceguide.config import ConfigError, load_config

if TYPE_CHECKING:
    from voiceguide.app import Listener, RunSettings
    from voiceguide.speech.commands import Vocabulary

__all__ = ["register"]


def register(sub: argparse._SubParsersAction, groups: dict[str, argparse._SubParsersAction]) -> None:
    """Add `run`."""
    p = sub.add_parser("run", help="guide a routine: listens for commands and narrates (the main job)")
    p.add_argument("pack", nargs="?", default=None, metavar="PACK",
                   help="a folder, a pack.toml or a pack id (default: the config's, else facial-massage)")
    p.add_argument("--input-device", default=None, metavar="NAME|INDEX", help="microphone (see `voiceguide devices`)")
    p.add_argument("--output-device", default=None, metavar="NAME|INDEX", help="speaker")
    p.add_argument("--input-wav", type=Path, default=None, metavar="FILE", help="listen to a WAV file instead")
    p.add_argument("--output-wav", type=Path, default=None, metavar="FILE", help="write the sound to a WAV file instead")
    p.add_argument("--fast", action="store_true", help="with --input-wav: as fast as possible (virtual time)")
    p.add_argument("--engine", choices=["auto", "vosk", "pocketsphinx"], default=None, help="speech recognizer")
    p.add_argument("--model", type=Path, default=None, metavar="PATH", help="vosk model folder")
    p.add_argument("--language", default=None, help="recognition language (default: the pack's)")
    p.add_argument("--tts", choices=["auto", "piper", "pyttsx3"], default=None,
                   help="narration engine (default auto: Piper where it has a voice for the language, else pyttsx3)")
    p.add_argument("--voice", default=None, help="narration voice (see `voiceguide voices`)")
    p.add_argument("--volume", type=float, default=None, help="speaker volume 0–1 (default 0.8)")
    p.add_argument("--tempo", type=float, default=None, help="starting tempo 0.5–2 (default: remembered)")
    p.add_argument("--console", action="store_true", help="type commands and read the narration")
    p.add_argument("--hold-seconds", type=float, default=None,
                   help="release a preparation step after this long without 'next' (default: wait)")
    p.add_argument("--data-dir", type=Path, default=None, help="where history and checkpoints are kept")
    p.add_argument("--cache-dir", type=Path, default=None, help="render cache for narration")
    p.add_argument("--config", type=Path, default=None, help="config file (default: the user config dir's)")
    p.add_argument("--json", action="store_true", help="transcript as one JSON object per line")
    p.set_defaults(handler=cmd_run)


def _device_probe(direction: str, spec: str | int | None) -> str | None:
    """None when the device can be used, else a one-line reason."""
    from voiceguide.audio.devices import AudioUnavailable, DeviceError, find_device

    try:
        find_device(spec, direction)  # type: ignore[arg-type]
    except (AudioUnavailable, DeviceError) as exc:
        return str(exc)
    return None


def _listener_factory(settings: RunSettings, language: str, vocabulary: Vocabulary) -> Callable[[], Listener]:
    """The recognizer for this run (checked now, loaded when the run starts); its notice is printed once."""
    from voiceguide.speech.recognizer import EngineUnavailable, RecognitionSettings, choose_engine, create_recognizer

    recognition = RecognitionSettings(engine=settings.engine, language=settings.language or language,
                                      model=settings.model)
    try:
        engine, _, notice = choose_engine(recognition)
    except EngineUnavailable as exc:
        raise UserError(str(exc)) from exc
    if notice:
        print(notice, file=sys.stderr)

    def factory() -> Listener:
        recognizer, _ = create_recognizer(recognition, vocabulary)
        return recognizer

    return factory


def cmd_run(args: argparse.Namespace) -> int:
    """Parse → settings → check → build → run."""
    from voiceguide.app import RunSettings, Runner, plan_io
    from voiceguide.cli.session import _open_pack, _open_store
    from voiceguide.session.settings import SessionSettings
    from voiceguide.packs.lint import pack_vocabulary
    from voiceguide.voice.narrator import resolve_engine

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        raise UserError(str(exc)) from exc
    config = config.with_overrides(pack=args.pack, input_device=args.input_device, output_device=args.output_device,
                                   engine=args.engine, model=str(args.model) if args.model else None,
                                   language=args.language, tts=args.tts, voice=args.voice, volume=args.volume,
                                   tempo=args.tempo, data_dir=str(args.data_dir) if args.data_dir else None)
    if args.fast and args.input_wav is None:
        raise UsageError("--fast goes with --input-wav")
    if args.output_wav is not None and args.input_wav is None and not args.console:
        raise UsageError("--output-wav goes with --input-wav or --console (a live run plays to a speaker)")
    if not 0.0 <= config.volume <= 1.0:
        raise UsageError("--volume must be between 0 and 1")
    if config.tempo is not None and not 0.5 <= config.tempo <= 2.0:
        raise UsageError("--tempo must be between 0.5 and 2")
    if args.input_wav is not None and not args.input_wav.is_file():
        raise UserError(f"--input-wav: no such file: {args.input_wav}")

    loaded = _open_pack(config.pack)
    data_dir = Path(config.data_dir) if config.data_dir else None
    settings = RunSettings(
        input_device=config.input_device, output_device=config.output_device,
        input_device_explicit=args.input_device is not None, output_device_explicit=args.output_device is not None,
        input_wav=args.input_wav, output_wav=args.output_wav, fast=args.fast, console=args.console,
        engine=config.engine, model=Path(config.model) if config.model else None, language=config.language,
        tts=resolve_engine(config.tts, loaded.pack.pack.language, config.voice or loaded.pack.voice.name),
        voice=config.voice, volume=config.volume,
        cache_dir=args.cache_dir, json=args.json,
        session=SessionSettings(tempo=config.tempo, hold_timeout=args.hold_seconds, data_dir=data_dir),
    )
    try:
        plan = plan_io(settings, _device_probe)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    for notice in plan.notices:
        print(notice, file=sys.stderr)

    vocabulary = pack_vocabulary(loaded.pack)
    listener_factory = None
    if plan.listen in ("mic", "wav"):
        listener_factory = _listener_factory(settings, loaded.pack.pack.language, vocabulary)

    def write(entry: object) -> None:
        line = json.dumps(entry.as_dict(), ensure_ascii=False) if args.json else entry.as_line()  # type: ignore[attr-defined]
        print(line, flush=True)

    store = _open_store(data_dir)
    runner = Runner(loaded, settings, plan, store, vocabulary, write, listener_factory)
    if plan.listen == "keyboard":
        print("Type a command and press Enter (help lists them; Ctrl-D ends).", file=sys.stderr)
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, lambda *_: runner.stop())
    from voiceguide.audio.clip import AudioFileError
    from voiceguide.audio.devices import DeviceError
    from voiceguide.audio.factory import NoDevice
    from voiceguide.voice.narrator import VoiceError

    try:
        runner.run()
    except KeyboardInterrupt:
        runner.stop()
    except (AudioFileError, DeviceError, NoDevice, VoiceError) as exc:
        raise UserError(str(exc)) from exc
    finally:
        signal.signal(signal.SIGTERM, previous)
        store.close()
    return 0
