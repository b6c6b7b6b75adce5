"""`voiceguide serve`: the boot-time mode of the shelf speaker (systemd runs it; see scripts/voiceguide.service)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from voiceguide.cli import UserError
from voiceguide.config import ConfigError, load_config

__all__ = ["register", "ConfigFileError"]


class ConfigFileError(UserError):
    """A config file that cannot be used: EX_CONFIG, which the service unit does not restart on."""

    exit_code = 78


def register(sub: argparse._SubParsersAction, groups: dict[str, argparse._SubParsersAction]) -> None:
    """Add `serve`."""
    p = sub.add_parser("serve", help="wait quietly for 'start', guide a routine, wait again (boot-time mode)")
    p.add_argument("pack", nargs="?", default=None, metavar="PACK",
                   help="a folder, a pack.toml or a pack id (default: the config's, else facial-massage)")
    p.add_argument("--input-device", default=None, metavar="NAME|INDEX", help="microphone (see `voiceguide devices`)")
    p.add_argument("--output-device", default=None, metavar="NAME|INDEX", help="speaker")
    p.add_argument("--engine", choices=["auto", "vosk", "pocketsphinx"], default=None, help="speech recognizer")
    p.add_argument("--model", type=Path, default=None, metavar="PATH", help="vosk model folder")
    p.add_argument("--data-dir", type=Path, default=None, help="where history and checkpoints are kept")
    p.add_argument("--cache-dir", type=Path, default=None, help="render cache for narration")
    p.add_argument("--config", type=Path, default=None, help="config file (default: the user config dir's)")
    p.add_argument("--retry-seconds", type=float, default=5.0, help="wait between looks for a missing microphone")
    p.add_argument("--once", action="store_true", help="exit after one session")
    p.add_argument("--json", action="store_true", help="transcript as one JSON object per line")
    p.set_defaults(handler=cmd_serve)


def _speaker_probe(device: str | int | None) -> str | None:
    from voiceguide.cli.run import _device_probe

    return _device_probe("output", device)


def cmd_serve(args: argparse.Namespace) -> int:
    """Config → settings → wait/guide loop until SIGTERM (exit 0)."""
    from voiceguide.app import RunSettings
    from voiceguide.cli.run import _listener_factory
    from voiceguide.cli.session import _open_pack, _open_store
    from voiceguide.packs.lint import pack_vocabulary
    from voiceguide.serve import ServeSettings, Server
    from voiceguide.session.settings import SessionSettings
    from voiceguide.voice.narrator import resolve_engine

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        raise ConfigFileError(str(exc)) from exc
    config = config.with_overrides(pack=args.pack, input_device=args.input_device, output_device=args.output_device,
                                   engine=args.engine, model=str(args.model) if args.model else None,
                                   data_dir=str(args.data_dir) if args.data_dir else None)
    loaded = _open_pack(config.pack)
    data_dir = Path(config.data_dir) if config.data_dir else None
    run = RunSettings(
        input_device=config.input_device, output_device=config.output_device,
        input_device_explicit=args.input_device is not None, output_device_explicit=args.output_device is not None,
        engine=config.engine, model=Path(config.model) if config.model else None, language=config.language,
        tts=resolve_engine(config.tts, loaded.pack.pack.language, config.voice or loaded.pack.voice.name),
        voice=config.voice, volume=config.volume, cache_dir=args.cache_dir, json=args.json,
        session=SessionSettings(tempo=config.tempo, data_dir=data_dir),
    )
    vocabulary = pack_vocabulary(loaded.pack)
    listener_factory = _listener_factory(run, loaded.pack.pack.language, vocabulary)

    def write(entry: object) -> None:
        line = json.dumps(entry.as_dict(), ensure_ascii=False) if args.json else entry.as_line()  # type: ignore[attr-defined]
        print(line, flush=True)

    store = _open_store(data_dir)
    server = Server(loaded, ServeSettings(run, retry_seconds=args.retry_seconds, once=args.once), store,
                    vocabulary, write, listener_factory, lambda: _speaker_probe(run.output_device))
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, lambda *_: server.stop())
    try:
        server.run()
    except KeyboardInterrupt:
        server.stop()
    finally:
        signal.signal(signal.SIGTERM, previous)
        store.close()
    return 0
