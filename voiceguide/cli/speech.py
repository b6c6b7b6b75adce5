"""`voiceguide listen` (commands from a WAV file or the microphone) and `voiceguide model list|fetch|path`."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from voiceguide.cli import UsageError, UserError, checks
from voiceguide.core.sound import SAMPLE_RATE

__all__ = ["register"]

_CHUNK = 320  # 20 ms at 16 kHz: what a live source hands over


def register(sub: argparse._SubParsersAction, groups: dict[str, argparse._SubParsersAction]) -> None:
    """Add `listen` and the `model` group."""
    p = sub.add_parser("listen", help="print the commands heard in a WAV file or from the microphone")
    p.add_argument("--wav", type=checks.wav_file, default=None,
                   help="decode this file as fast as possible (any rate, any channels)")
    p.add_argument("--engine", choices=["auto", "vosk", "keywords", "pocketsphinx"], default="auto")
    p.add_argument("--model", type=checks.existing_dir, default=None, help="a vosk model folder")
    p.add_argument("--language", default="en", help="en or ko (default: en)")
    p.add_argument("--json", action="store_true", help="one JSON object per command")
    p.add_argument("--input-device", type=checks.device, default=None, help="microphone name or index")
    p.set_defaults(handler=cmd_listen)

    m = sub.add_parser("model", help="speech models: list, fetch, path")
    m.set_defaults(handler=lambda args: (m.print_help(), 2)[1])
    msub = m.add_subparsers(dest="model_command", metavar="MODEL_COMMAND", parser_class=type(m))
    groups["model"] = msub
    q = msub.add_parser("list", help="installed models and the ones that can be fetched")
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=cmd_model_list)
    q = msub.add_parser("fetch", help="download, check (SHA-256) and install a model")
    q.add_argument("name")
    q.add_argument("--url", default=None, help="download from here instead of the known address")
    q.add_argument("--sha256", default=None, help="expected SHA-256 of the archive (needed with --url)")
    q.add_argument("--dest", type=checks.writable_dir, default=None,
                   help="install folder (default: the user data dir's models/)")
    q.set_defaults(handler=cmd_model_fetch)
    q = msub.add_parser("path", help="the model that would be used for a language")
    q.add_argument("--language", default="en-us")
    q.add_argument("--model", type=checks.existing_dir, default=None)
    q.set_defaults(handler=cmd_model_path)


def _settings(args: argparse.Namespace):  # noqa: ANN202 - RecognitionSettings, imported lazily
    from voiceguide.speech.base import RecognitionSettings

    return RecognitionSettings(engine=args.engine, language=args.language, model=args.model, env=dict(os.environ))


def cmd_listen(args: argparse.Namespace) -> int:
    """Parse → settings → check → build → run: print each command as it is heard."""
    from voiceguide.core.commands import builtin_vocabulary, has_builtin_vocabulary
    from voiceguide.speech.base import EngineUnavailable
    from voiceguide.speech.factory import create_recognizer

    if not has_builtin_vocabulary(args.language):
        raise UsageError(f"--language: no command words for {args.language!r} (en or ko)")
    samples = _read_input(args.wav) if args.wav is not None else None
    try:
        recognizer, notice = create_recognizer(_settings(args), builtin_vocabulary(args.language))
    except EngineUnavailable as exc:
        raise UserError(str(exc)) from exc
    if notice:
        print(notice, file=sys.stderr)
    if samples is None:
        return _listen_live(recognizer, args)
    heard = []
    for i in range(0, len(samples), _CHUNK):
        heard.extend(recognizer.feed(samples[i : i + _CHUNK]))
    heard.extend(recognizer.flush())
    for h in heard:
        _print_heard(h, args.json)
    if not args.json:
        seconds = len(samples) / SAMPLE_RATE
        print(f"{len(heard)} command(s) in {seconds:.1f} s of audio ({recognizer.engine})", file=sys.stderr)
    return 0


def _read_input(path: Path):  # noqa: ANN202 - numpy array
    from voiceguide.audio.clip import AudioFileError, read_wav, to_int16

    try:
        clip = read_wav(path).at_rate(SAMPLE_RATE)
    except AudioFileError as exc:
        raise UserError(f"{path} is not a WAV audio file voiceguide can read ({exc})") from exc
    return to_int16(clip.samples)


def _print_heard(h, as_json: bool) -> None:  # noqa: ANN001 - events.Heard
    if as_json:
        print(json.dumps({"command": h.command.value if h.command else None, "text": h.text,
                          "confidence": round(h.confidence, 3), "start": round(h.start, 3), "end": round(h.end, 3),
                          "engine": h.engine}, ensure_ascii=False), flush=True)
    else:
        print(f"{h.end:8.2f}s  {h.command.value if h.command else '-':8}  {h.text!r}  ({h.confidence:.2f})", flush=True)


def _listen_live(recognizer, args: argparse.Namespace) -> int:  # noqa: ANN001 - Recognizer
    try:
        from voiceguide.audio.source import MicSettings, MicSource
    except ImportError as exc:
        raise UserError("listening to the microphone is not available in this build; use --wav FILE") from exc
    import numpy as np

    try:
        device = int(args.input_device) if args.input_device and args.input_device.isdigit() else args.input_device
        source = MicSource(MicSettings(device=device))
    except Exception as exc:  # device errors come in several kinds; all mean "no usable microphone"
        raise UserError(f"cannot open the microphone: {exc}") from exc
    print("Listening (Ctrl-C to stop)…", file=sys.stderr)
    meter_shown = sys.stderr.isatty() and not args.json
    try:
        while True:
            chunk = source.read(timeout=0.5)
            if chunk is None:
                if source.ended:
                    break
                continue
            if meter_shown:
                scaled = chunk.samples.astype(np.float32) / 32768.0
                level = float(np.sqrt(np.mean(np.square(scaled)))) if len(chunk.samples) else 0.0
                bar = "#" * min(30, int(level * 300))
                print(f"\r{bar:<30}", end="", file=sys.stderr, flush=True)
            for h in recognizer.feed(chunk.samples, chunk.start):
                if meter_shown:
                    print("\r" + " " * 30 + "\r", end="", file=sys.stderr)
                _print_heard(h, args.json)
    except KeyboardInterrupt:
        pass
    finally:
        source.close()
    for h in recognizer.flush():
        _print_heard(h, args.json)
    return 0


def cmd_model_list(args: argparse.Namespace) -> int:
    """Installed models, then the downloadable ones."""
    from voiceguide.speech.models import KNOWN_MODELS, installed_models

    installed = installed_models(os.environ)
    if args.json:
        print(json.dumps({
            "installed": [{"name": m.name, "language": m.language, "path": str(m.path), "source": m.source}
                          for m in installed],
            "known": [{"name": k.name, "language": k.language, "url": k.url, "size": k.size, "sha256": k.sha256}
                      for k in KNOWN_MODELS.values()],
        }, indent=2))
        return 0
    print("Installed:")
    for m in installed:
        print(f"  {m.name:32} {m.language:6} {m.path}  ({m.source})")
    if not installed:
        print("  none (English still works with the built-in pocketsphinx recognizer)")
    print("Downloadable (voiceguide model fetch NAME):")
    names = {m.name for m in installed}
    for k in KNOWN_MODELS.values():
        mark = " (installed)" if k.name in names else ""
        print(f"  {k.name:32} {k.language:6} {k.size / 1e6:.0f} MB  {k.url}{mark}")
        print(f"  {'':32} sha256 {k.sha256}")
    return 0


def cmd_model_fetch(args: argparse.Namespace) -> int:
    """Download with a progress bar; checksum, safe extraction and atomic install are in `fetch_model`."""
    from voiceguide.speech.models import FetchError, fetch_model, model_dirs

    dest = args.dest or model_dirs(os.environ)[-1][0]
    if args.url is not None and args.sha256 is None:
        raise UsageError("--url needs --sha256 (the archive's checksum)")
    last = [0.0]

    def progress(done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - last[0] < 0.1 and (total is None or done < total):
            return
        last[0] = now
        if total:
            filled = int(30 * done / total)
            bar = "#" * filled + "." * (30 - filled)
            print(f"\r[{bar}] {done / 1e6:6.1f}/{total / 1e6:.1f} MB", end="", file=sys.stderr)
        else:
            print(f"\r{done / 1e6:6.1f} MB", end="", file=sys.stderr)

    try:
        path = fetch_model(args.name, dest, url=args.url, sha256=args.sha256, progress=progress)
    except FetchError as exc:
        print(file=sys.stderr)
        raise UserError(str(exc)) from exc
    print(file=sys.stderr)
    print(path)
    return 0


def cmd_model_path(args: argparse.Namespace) -> int:
    """Where the model for a language is (exit 1 with how to get one when there is none)."""
    from voiceguide.speech.models import ModelNotFound, find_model

    try:
        print(find_model(args.language, args.model, os.environ))
    except ModelNotFound as exc:
        raise UserError(str(exc)) from exc
    return 0
