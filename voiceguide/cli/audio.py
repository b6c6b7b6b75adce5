"""`voiceguide devices`, `voiceguide voices` and `voiceguide pack render`: what the audio side offers."""

from __future__ import annotations

import argparse
import json

from voiceguide.cli import UserError, checks

__all__ = ["register"]


def register(sub: argparse._SubParsersAction, groups: dict[str, argparse._SubParsersAction]) -> None:
    """Add `devices`, `voices`, and `render` to the `pack` group."""
    p = sub.add_parser("devices", help="input and output audio devices, marking the ones `run` would use")
    p.add_argument("--json", action="store_true", help="one JSON list")
    p.add_argument("--config", type=checks.config_file, default=None,
                   help="config file (default: the user config dir's)")
    p.set_defaults(handler=cmd_devices)

    p = sub.add_parser("voices", help="the voices the speech engines offer (Piper's and pyttsx3's)")
    p.add_argument("--engine", "--tts", dest="engine", default="all",
                   help="piper, pyttsx3 or all (default: all installed engines)")
    p.add_argument("--language", default=None, help="only voices for this language, e.g. en or ko-KR")
    p.add_argument("--json", action="store_true", help="one JSON list")
    p.set_defaults(handler=cmd_voices)

    pack_group = groups.get("pack")
    if pack_group is None:  # the pack module registers the group first; without it there is nothing to extend
        return
    p = pack_group.add_parser("render", help="render every sentence of a pack to WAV files with a manifest")
    p.add_argument("pack", metavar="PACK", help="a folder, a pack.toml, or a pack id")
    p.add_argument("--out", type=checks.output_dir, default=None, metavar="DIR",
                   help="folder for the WAV files and manifest.json (default: only fill the render cache)")
    p.add_argument("--tts", "--engine", dest="engine", default=None,
                   help="narration engine: pyttsx3, piper or auto (default: the config file's, else auto — "
                        "what `run` will play, so a run finds every sentence in the cache)")
    p.add_argument("--voice", default=None,
                   help="voice id, name or Piper .onnx path (default: the config's, the pack's, else one for "
                        "its language)")
    p.add_argument("--config", type=checks.config_file, default=None,
                   help="config file (default: the user config dir's)")
    p.add_argument("--rate", type=int, default=None, help="words per minute at tempo 1 (default: the pack's)")
    p.add_argument("--all-tempos", action="store_true",
                   help="also every speed that 'slower'/'faster' can reach (default: the pack's tempo only)")
    p.add_argument("--cache-dir", type=checks.writable_dir, default=None,
                   help="render cache (default: the user cache dir)")
    p.set_defaults(handler=cmd_pack_render)


def cmd_devices(args: argparse.Namespace) -> int:
    """List devices with index, name, channels and default rate; mark the defaults."""
    from voiceguide.audio.devices import AudioUnavailable, DeviceError, find_device, list_devices
    from voiceguide.config import ConfigError, load_config

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        raise UserError(str(exc)) from exc
    try:
        devices = list_devices()
    except AudioUnavailable as exc:
        raise UserError(str(exc)) from exc
    # what `run` would use: the config file's devices, else the defaults
    chosen: dict[str, int | None] = {}
    problems: list[str] = []
    for direction, spec in (("input", config.input_device), ("output", config.output_device)):
        try:
            chosen[direction] = find_device(spec, direction, devices).index  # type: ignore[arg-type]
        except DeviceError as exc:
            chosen[direction] = None
            problems.append(f"config {direction}_device: {exc}" if spec is not None else
                            f"No {direction} device: `run` will " +
                            ("take typed commands." if direction == "input" else "print the narration."))
    if args.json:
        print(json.dumps([{**d.__dict__, "run_input": d.index == chosen["input"],
                           "run_output": d.index == chosen["output"]} for d in devices], indent=2))
        return 0
    if not devices:
        print("No audio devices: `voiceguide run` will use the console (type commands, read narration).")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Audio devices (* = what `run` uses without --input-device/--output-device)")
    for col in ("", "index", "name", "host API", "in", "out", "default rate"):
        table.add_column(col, justify="right" if col in ("index", "in", "out", "default rate") else "left")
    for d in devices:
        marks = " ".join(m for m, on in (("*in", d.index == chosen["input"]), ("*out", d.index == chosen["output"]))
                         if on)
        table.add_row(marks, str(d.index), d.name, d.hostapi, str(d.max_input_channels),
                      str(d.max_output_channels), f"{d.default_samplerate:.0f} Hz")
    console = Console()
    console.print(table)
    for line in problems:
        console.print(line, markup=False, highlight=False)
    return 0


def cmd_voices(args: argparse.Namespace) -> int:
    """List the engine's voices (id, name, languages), the default marked."""
    import sys

    from voiceguide.voice.base import VoiceError
    from voiceguide.voice.factory import make_voice

    # all: in the order `--tts auto` prefers them; an engine that is not installed is noted, not fatal
    names = ["piper", "pyttsx3"] if args.engine == "all" else [args.engine]
    voices = []
    for name in names:
        try:
            engine = make_voice(name)
            try:
                voices += engine.voices()
            finally:
                engine.close()
        except VoiceError as exc:
            if args.engine != "all":
                raise UserError(str(exc)) from exc
            print(f"{name}: {exc}", file=sys.stderr)
    if args.language:
        wanted = args.language.lower().replace("_", "-")
        primary = wanted.split("-")[0]
        voices = [v for v in voices if any(x.lower() == wanted or x.lower().split("-")[0] == primary
                                           for x in v.languages)]
    if args.json:
        print(json.dumps([{**v.__dict__, "languages": list(v.languages)} for v in voices], indent=2,
                         ensure_ascii=False))
        return 0
    if not voices:
        engine_name = "" if args.engine == "all" else f"{args.engine} "
        raise UserError(f"no {engine_name}voice for language {args.language!r}")
    width = max(len(v.id) for v in voices)
    for v in voices:
        mark = "*" if v.default else " "
        print(f"{mark} {v.id:<{width}}  {v.name}  ({', '.join(v.languages) or '?'})  [{v.engine}]")
    return 0


def cmd_pack_render(args: argparse.Namespace) -> int:
    """Render a pack's sentences (into the cache, and to --out with a manifest)."""
    from voiceguide.cli.pack import open_pack, packs_dir
    from voiceguide.config import ConfigError, load_config
    from voiceguide.voice.base import VoiceError
    from voiceguide.voice.narrator import Narrator, NarratorSettings
    from voiceguide.voice.render import MANIFEST, reachable_tempos, render_pack

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        raise UserError(str(exc)) from exc
    loaded = open_pack(args.pack, packs_dir(args))
    pack = loaded.pack
    if args.rate is not None and not 80 <= args.rate <= 450:
        raise UserError(f"--rate {args.rate} is outside 80–450 words per minute")
    settings = NarratorSettings(
        engine=args.engine or config.tts,
        voice=args.voice or config.voice or pack.voice.name,
        language=pack.pack.language,
        rate=args.rate or pack.voice.rate,
        cache_dir=args.cache_dir,
    )
    tempos = reachable_tempos(pack.voice.tempo) if args.all_tempos else [pack.voice.tempo]
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    try:
        with Narrator(settings) as narrator, Progress(
            TextColumn("rendering"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
            transient=True,
        ) as bar:
            task = bar.add_task("", total=None)
            items = render_pack(
                pack, narrator, args.out, tempos=tempos, content_hash=loaded.content_hash,
                progress=lambda n, total, s: bar.update(task, completed=n - 1, total=total, description=s.where),
            )
            synthesized = narrator.renders
            voice = narrator.voice_id or "default"
            engine = narrator.engine
    except VoiceError as exc:
        raise UserError(str(exc)) from exc
    seconds = sum(i.duration for i in items)
    where = f" into {args.out} (see {args.out / MANIFEST})" if args.out is not None else " into the render cache"
    print(f"{len(items)} sentences, {seconds / 60:.1f} min of speech ({engine}, voice {voice}), "
          f"{synthesized} synthesized now, {len(items) - synthesized} from cache{where}.")
    return 0
