"""`voiceguide simulate`, `voiceguide history`, `voiceguide session graph|console`: the session engine's CLI."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from voiceguide.cli import UsageError, UserError, checks
from voiceguide.packs.loader import LoadedPack, PackError, load_pack

if TYPE_CHECKING:
    from voiceguide.store import Store

__all__ = ["register", "DEFAULT_PACK"]

DEFAULT_PACK = "facial-massage"


def register(sub: argparse._SubParsersAction, groups: dict[str, argparse._SubParsersAction]) -> None:
    """Add `simulate`, `history` and the `session` group."""
    p = sub.add_parser("simulate", help="run a pack under a virtual clock and print what would be heard")
    p.add_argument("pack", nargs="?", default=DEFAULT_PACK, metavar="PACK",
                   help=f"a folder, a pack.toml or a pack id (default: {DEFAULT_PACK})")
    p.add_argument("--commands", default="", metavar="SCRIPT",
                   help='commands at seconds from the start, e.g. "12 next; 40 slower; 60 pause; 75 resume"')
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--hold-seconds", type=_positive, default=None,
                   help="release every hold step after this many seconds (default: each step's own "
                        "hold_seconds, as `pack show` counts it)")
    p.add_argument("--tempo", type=_tempo, default=None, help="start tempo (default: the pack's)")
    p.set_defaults(handler=cmd_simulate)

    p = sub.add_parser("history", help="past sessions and the current streak")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.add_argument("--limit", type=checks.positive_int, default=30, help="sessions to list (default: 30)")
    p.add_argument("--data-dir", type=checks.writable_dir, default=None, help="where the history is kept")
    p.set_defaults(handler=cmd_history)

    p = sub.add_parser("session", help="the session engine: graph, console")
    p.set_defaults(handler=lambda args: _group_help(p))
    session_sub = p.add_subparsers(dest="session_command", metavar="SESSION_COMMAND", parser_class=type(p))
    groups["session"] = session_sub

    q = session_sub.add_parser("graph", help="the state diagram (Mermaid)")
    q.add_argument("--markdown", action="store_true", help="a page with the diagram and the transitions table")
    q.add_argument("--internal", action="store_true", help="also draw the transitions that keep the state")
    q.add_argument("-o", "--output", type=Path, default=None, help="write to a file instead of stdout")
    q.set_defaults(handler=cmd_graph)

    q = session_sub.add_parser("console", help="guide a pack in real time with typed commands and printed speech")
    q.add_argument("pack", nargs="?", default=DEFAULT_PACK, metavar="PACK")
    q.add_argument("--data-dir", type=checks.writable_dir, default=None,
                   help="where history and checkpoints are kept")
    q.add_argument("--speed", type=_speed, default=1.0, help="run the clock this many times faster")
    q.add_argument("--hold-seconds", type=_positive, default=None, help="release holds after this long")
    q.add_argument("--json", action="store_true", help="one JSON object per line")
    q.set_defaults(handler=cmd_console)


def _group_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


_positive = checks.number(above=0, high=86400, what="a number of seconds")
"""Seconds: more than 0, and at most a day (an endless hold is no setting)."""
_speed = checks.number(above=0, high=1000, what="a speed-up")
"""How many times faster the clock runs: finite, so that the clock's arithmetic stays in numbers."""
_tempo = checks.number(0.5, 2.0, what="a tempo")


def _open_pack(spec: str) -> LoadedPack:
    try:
        return load_pack(spec)
    except PackError as exc:
        raise UserError(f"cannot use pack '{spec}':\n{exc}") from exc


def _emit(entry_json: bool, line: str, obj: dict[str, object]) -> None:
    print(json.dumps(obj, ensure_ascii=False) if entry_json else line, flush=True)


def cmd_simulate(args: argparse.Namespace) -> int:
    """Run the session under a virtual clock and print the transcript."""
    from voiceguide.session.settings import SessionSettings
    from voiceguide.session.simulate import ScriptError, Simulation, parse_commands
    from voiceguide.session.transcript import format_time

    loaded = _open_pack(args.pack)
    settings = SessionSettings(hold_timeout=args.hold_seconds, release_holds=True, tempo=args.tempo,
                               remember_tempo=False)
    sim = Simulation(loaded.pack, loaded.content_hash, settings)
    try:
        commands = parse_commands(args.commands, sim.vocabulary)
    except ScriptError as exc:
        raise UsageError(f"--commands: {exc}") from exc
    entries = sim.run(commands)
    for entry in entries:
        _emit(args.json, entry.as_line(), entry.as_dict())
    end = sim.clock.now()
    state = sim.session.state.value
    if args.json:
        _emit(True, "", {"t": round(end, 3), "type": "end", "state": state, "text": state})
    else:
        print(f"{format_time(end)}  end      {state} after {end:.1f} s")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    """List past sessions and the streak."""
    store = _open_store(args.data_dir)
    try:
        rows = store.history(args.limit)
        streak = store.streak()
    finally:
        store.close()
    if args.json:
        print(json.dumps({"streak": streak, "sessions": [r.as_dict() for r in rows]}, ensure_ascii=False))
        return 0
    if not rows:
        print("No sessions yet.")
    else:
        print(f"{'date':<17} {'pack':<24} {'duration':>8}  completed")
        for r in rows:
            when = dt.datetime.fromtimestamp(r.started).strftime("%Y-%m-%d %H:%M")
            total = int(round(r.duration))
            done = "yes" if r.completed else ("stopped" if r.ended is not None else "no")
            print(f"{when:<17} {r.pack_id:<24} {total // 60:>5}:{total % 60:02d}  {done}")
    print(f"Streak: {streak} day{'s' if streak != 1 else ''}")
    return 0


def _open_store(data_dir: Path | None) -> Store:
    """The history database, or one clear error."""
    import sqlite3

    from voiceguide.store import Store

    try:
        return Store.open(data_dir)
    except OSError as exc:
        raise UserError(f"cannot open the history in {data_dir or 'the user data dir'}: {exc}") from exc
    except sqlite3.Error as exc:  # a damaged or foreign file
        raise UserError(f"cannot read the history database: {exc}") from exc


def cmd_graph(args: argparse.Namespace) -> int:
    """Print or write the state diagram."""
    from voiceguide.session.graph import markdown, mermaid

    text = markdown() if args.markdown else mermaid(internal=args.internal)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {args.output}: {exc.strerror}") from exc
    print(f"wrote {args.output}")
    return 0


def cmd_console(args: argparse.Namespace) -> int:
    """Guide a pack in real time (or faster): type commands, read what would be said; Ctrl-D or Ctrl-C ends.

    The same Runner as `voiceguide run --console`, with the clock sped up: a quick dry run, and the process
    the power-cut tests kill.
    """
    from voiceguide.packs.vocabulary import pack_vocabulary
    from voiceguide.runtime.plan import IoPlan, RunSettings
    from voiceguide.runtime.runner import Runner
    from voiceguide.session.settings import SessionSettings

    loaded = _open_pack(args.pack)
    store = _open_store(args.data_dir)
    settings = RunSettings(console=True, speed=args.speed, json=args.json,
                           session=SessionSettings(hold_timeout=args.hold_seconds, data_dir=args.data_dir))
    runner = Runner(loaded, settings, IoPlan("keyboard", "print"), store, pack_vocabulary(loaded.pack),
                    lambda e: _emit(args.json, e.as_line(), e.as_dict()), None)
    try:
        runner.run()
    except KeyboardInterrupt:
        runner.stop()
    finally:
        store.close()
    return 0
