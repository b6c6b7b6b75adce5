"""`voiceguide pack …`: list, check, show, schema and new — what pack authors use."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from voiceguide.cli import UsageError, UserError, checks
from voiceguide.packs.lint import lint
from voiceguide.packs.loader import PACK_FILE, LoadedPack, PackError, Problem, builtin_ids, load_pack
from voiceguide.packs.schema import Pack
from voiceguide.packs.timeline import framing_seconds, opening_seconds, timeline, total_seconds
from voiceguide.paths import user_packs_dir

__all__ = ["register", "format_duration"]


def register(sub: argparse._SubParsersAction, groups: dict[str, argparse._SubParsersAction]) -> None:
    """Add the `pack` group and its subcommands."""
    p = sub.add_parser("pack", help="narration packs: list, check, show, schema, new")
    p.add_argument("--packs-dir", type=checks.packs_dir, default=None,
                   help="folder of your own packs (default: the user data dir's packs/)")
    p.set_defaults(handler=lambda args: _group_help(p))
    pack_sub = p.add_subparsers(dest="pack_command", metavar="PACK_COMMAND", parser_class=type(p))
    groups["pack"] = pack_sub

    q = pack_sub.add_parser("list", help="built-in and your own packs")
    q.set_defaults(handler=cmd_list)

    q = pack_sub.add_parser("check", help="validate packs; every problem as FILE:LINE:COL: FIELD: message")
    q.add_argument("packs", nargs="+", metavar="PACK", help="a folder, a pack.toml, or a pack id")
    q.add_argument("--strict", action="store_true", help="warnings fail too")
    q.add_argument("--json", action="store_true", help="problems as a JSON list")
    q.set_defaults(handler=cmd_check)

    q = pack_sub.add_parser("show", help="the timeline of a pack and its total duration")
    q.add_argument("pack", metavar="PACK")
    q.add_argument("--tempo", type=float, default=None, help="tempo to time it at (default: the pack's)")
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=cmd_show)

    q = pack_sub.add_parser("schema", help="the JSON Schema of pack.toml, for editors")
    q.set_defaults(handler=cmd_schema)

    q = pack_sub.add_parser("new", help="scaffold a pack that passes `pack check --strict`")
    q.add_argument("dir", type=Path)
    q.add_argument("--id", default=None, help="pack id (default: from the folder name)")
    q.add_argument("--language", default="en-US")
    q.set_defaults(handler=cmd_new)


def _group_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def packs_dir(args: argparse.Namespace) -> Path:
    """The user's packs folder for this invocation."""
    return args.packs_dir if getattr(args, "packs_dir", None) else user_packs_dir()


def open_pack(spec: str | Path, packs: Path | None = None) -> LoadedPack:
    """Load a pack for a command, turning its problems into one user error."""
    try:
        return load_pack(spec, packs)
    except PackError as exc:
        raise UserError(f"cannot use pack '{spec}':\n{exc}") from exc


def format_duration(seconds: float) -> str:
    """12:05 style, as people read durations."""
    total = int(round(seconds))
    return f"{total // 60}:{total % 60:02d}"


def cmd_list(args: argparse.Namespace) -> int:
    """Print built-in and user packs."""
    from rich.console import Console
    from rich.table import Table

    rows: list[tuple[str, str, str, str, str]] = []
    problems: list[str] = []
    specs: list[tuple[str | Path, str]] = [(i, "built-in") for i in builtin_ids()]
    folder = packs_dir(args)
    if folder.is_dir():
        specs += [(p.parent, "user") for p in sorted(folder.glob(f"*/{PACK_FILE}"))]
    for spec, origin in specs:
        try:
            loaded = load_pack(spec)
        except PackError as exc:
            problems.append(f"{spec}: invalid ({len(exc.problems)} problems; see `voiceguide pack check {spec}`)")
            continue
        info = loaded.pack.pack
        rows.append((info.id, info.title, info.language,
                     format_duration(total_seconds(loaded.pack, loaded.pack.voice.tempo)), origin))
    table = Table(title=f"Packs (yours in {folder})")
    for col in ("id", "title", "language", "duration", "from"):
        table.add_column(col, justify="right" if col == "duration" else "left")
    for row in rows:
        table.add_row(*row)
    console = Console()
    console.print(table)
    for line in problems:
        console.print(line, style="yellow", markup=False, highlight=False)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Validate packs; exit 0 valid, 1 invalid (or warnings with --strict)."""
    problems: list[Problem] = []
    for spec in args.packs:
        try:
            loaded = load_pack(spec, packs_dir(args))
        except PackError as exc:
            problems += exc.problems
            continue
        problems += lint(loaded)
    failed = any(p.severity == "error" or args.strict for p in problems)
    if args.json:
        print(json.dumps([p.as_dict() for p in problems], indent=2, ensure_ascii=False))
    else:
        for problem in problems:
            print(problem)
        if not problems:
            print(f"ok: {len(args.packs)} pack{'s' if len(args.packs) != 1 else ''} valid")
    return 1 if failed else 0


def cmd_show(args: argparse.Namespace) -> int:
    """Print the timeline table of a pack."""
    loaded = open_pack(args.pack, packs_dir(args))
    pack = loaded.pack
    tempo = args.tempo if args.tempo is not None else pack.voice.tempo
    if not 0.5 <= tempo <= 2.0:
        raise UsageError("--tempo must be between 0.5 and 2.0")
    rows = timeline(pack, tempo)
    total = total_seconds(pack, tempo)
    if args.json:
        print(json.dumps({
            "id": pack.pack.id,
            "title": pack.pack.title,
            "tempo": tempo,
            "framing_seconds": round(framing_seconds(pack, tempo), 1),
            "total_seconds": round(total, 1),
            "steps": [{
                "index": r.index + 1,
                "id": r.step.id,
                "title": r.step.title,
                "area": r.step.area,
                "technique": r.step.technique,
                "strokes": [{"count": g.count, "seconds": round(g.seconds * tempo, 2)} for g in r.step.strokes],
                "hold": r.step.hold,
                "narration_seconds": round(r.narration, 1),
                "stroke_seconds": round(r.strokes, 1),
                "hold_seconds": round(r.hold, 1),
                "rest_seconds": r.rest,
                "total_seconds": round(r.total, 1),
            } for r in rows],
        }, indent=2, ensure_ascii=False))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{pack.pack.title} ({pack.pack.id}, {pack.pack.language}) at tempo {tempo:g}")
    for col in ("#", "step", "area", "technique", "strokes × seconds", "starts", "duration"):
        table.add_column(col, justify="right" if col in ("#", "starts", "duration") else "left")
    clock = opening_seconds(pack, tempo)
    for r in rows:
        if r.step.hold:
            strokes = f"hold (~{r.hold:.0f} s)"
        else:
            strokes = " + ".join(f"{g.count} × {g.seconds * tempo:g} s" for g in r.step.strokes)
        table.add_row(str(r.index + 1), r.step.title, r.step.area, r.step.technique, strokes,
                      format_duration(clock), format_duration(r.total))
        clock += r.total
    console = Console()
    console.print(table)
    console.print(f"Total: {format_duration(total)} (intro, safety and closing: "
                  f"{format_duration(framing_seconds(pack, tempo))})", highlight=False)
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of pack.toml."""
    schema = Pack.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    print(json.dumps(schema, indent=2, ensure_ascii=False))
    return 0


_TEMPLATE = '''\
# A voiceguide narration pack. Check it with `voiceguide pack check --strict {dir}`,
# see its timeline with `voiceguide pack show {dir}`, and dry-run it with `voiceguide simulate {dir}`.

[pack]
id = "{id}"
title = "{title}"
language = "{language}"
version = "0.1.0"
author = ""
license = "CC-BY-4.0"
description = "What this routine is for, in one or two sentences."

[voice]
rate = 140      # words per minute at tempo 1.0
tempo = 1.0     # 0.5 (brisk) to 2.0 (slow): multiplies stroke time

[intro]
say = ["Welcome. Sit comfortably and take a slow breath."]

[[steps]]
id = "prepare"
title = "Prepare"
area = "face"
technique = "preparation"
say = "Wash your hands and warm a little oil between your palms."
hold = true          # waits until the person says they are done
hold_seconds = 30    # only used to estimate the timeline

[[steps]]
id = "forehead"
title = "Forehead"
area = "forehead"
technique = "glide"
say = "Step {{step}} of {{steps}}. Glide your fingertips upward from your brows to your hairline."
rest = 3

[[steps.strokes]]
count = 6
seconds = 4.0
cue = "up"           # said on each stroke; leave it out for a soft tick
count_aloud = true   # say one, two, three…

[closing]
say = ["That is all for today. Well done."]
'''


def cmd_new(args: argparse.Namespace) -> int:
    """Write a starter pack folder."""
    folder: Path = args.dir
    target = folder / PACK_FILE
    if target.exists():
        raise UserError(f"{target} already exists; choose another folder")
    pack_id = args.id or re.sub(r"[^a-z0-9-]+", "-", folder.resolve().name.lower()).strip("-") or "my-pack"
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", pack_id):
        raise UsageError(f"invalid pack id '{pack_id}': use lower-case letters, digits and dashes")
    title = pack_id.replace("-", " ").capitalize()
    try:
        checks.output_dir(str(folder))
        target.write_text(_TEMPLATE.format(id=pack_id, title=title, language=args.language, dir=folder),
                          encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{target}: cannot be written ({(exc.strerror or str(exc)).lower()})") from exc
    print(f"created {target}; next: voiceguide pack check --strict {folder}")
    return 0
