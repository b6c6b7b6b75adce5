"""`voiceguide simulate`, `history` and `session graph` as a user runs them."""

from __future__ import annotations

import json
import re

import pytest

from voiceguide.cli import main
from voiceguide.session.machine import State


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_simulate_prints_a_timestamped_transcript_with_commands_and_states(capsys, mini):
    code, out, _ = run(capsys, "simulate", str(mini.folder), "--commands", "12 next; 14 pause; 20 go; 30 stop; 31 yes")
    assert code == 0
    lines = out.splitlines()
    assert re.match(r"^\s+0:00\.0  state\s+intro$", lines[0])
    assert any(re.match(r"^\s+0:12\.0  command\s+next$", line) for line in lines)
    assert any(re.match(r"^\s+0:20\.0  command\s+resume$", line) for line in lines)  # "go" is resume
    assert lines[-1].strip() == "0:31.0  end      stopped after 31.0 s"


def test_simulate_json_has_one_object_per_line_and_ends_finished_without_commands(capsys, mini):
    code, out, _ = run(capsys, "simulate", str(mini.folder), "--json", "--hold-seconds", "5")
    assert code == 0
    objs = [json.loads(line) for line in out.splitlines()]
    assert {o["type"] for o in objs} >= {"say", "cue", "state", "end"}
    for o in objs:
        assert isinstance(o["t"], (int, float)) and "text" in o
    holds = [o for o in objs if o["type"] == "state" and o["state"] in ("hold", "narrating")]
    hold_at = next(o["t"] for o in holds if o["state"] == "hold")
    after = next(o["t"] for o in holds if o["t"] > hold_at)
    assert after - hold_at == pytest.approx(5.0)
    assert objs[-1] == {"t": objs[-1]["t"], "type": "end", "state": "finished", "text": "finished"}
    times = [o["t"] for o in objs]
    assert times == sorted(times)


def test_simulate_without_a_pack_uses_the_builtin_one(capsys):
    code, out, _ = run(capsys, "simulate", "--commands", "60 where")
    assert code == 0
    assert "Welcome. Take a slow breath" in out
    assert re.search(r"hint\s+Step 1 of \d+, Cleanse\.", out)
    last = out.splitlines()[-1].split()
    assert last[1:4] == ["end", "finished", "after"]


def test_a_dry_run_takes_as_long_as_the_timeline_says(capsys):
    """Holds are released after each step's own hold_seconds, as `pack show` counts them."""
    from voiceguide.packs.loader import builtin_dir, load_pack
    from voiceguide.packs.timeline import total_seconds

    code, out, _ = run(capsys, "simulate", "--json")
    assert code == 0
    end = json.loads(out.splitlines()[-1])["t"]
    planned = total_seconds(load_pack(builtin_dir() / "facial-massage").pack)
    assert end == pytest.approx(planned, abs=5.0)


@pytest.mark.parametrize("script, message", [
    ("12 nxt", "unknown command 'nxt'"),
    ("next at 12", "write SECONDS COMMAND"),
    ("12", "write SECONDS COMMAND"),
])
def test_bad_command_scripts_are_a_usage_error(capsys, script, message):
    code, out, err = run(capsys, "simulate", "--commands", script)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err


def test_simulate_a_missing_pack_is_one_clear_error(capsys, tmp_path):
    code, _, err = run(capsys, "simulate", str(tmp_path / "nope"))
    assert code == 1 and "cannot use pack" in err and "Traceback" not in err


def test_history_lists_sessions_and_the_streak(capsys, tmp_path, mini):
    from voiceguide.core.commands import Command
    from voiceguide.core.events import CommandEvent
    from voiceguide.session import Session, SessionSettings, VirtualClock
    from voiceguide.store import Store

    code, out, _ = run(capsys, "history", "--data-dir", str(tmp_path))
    assert code == 0 and out.splitlines() == ["No sessions yet.", "Streak: 0 days"]
    store = Store.open(tmp_path)
    clock = VirtualClock()
    session = Session(mini.pack, mini.content_hash, clock, lambda e: None, SessionSettings(), store)
    session.start()
    session.handle(CommandEvent(Command.STOP, clock.now()))
    session.handle(CommandEvent(Command.YES, clock.now()))
    assert session.state is State.STOPPED
    sid = store.begin("mini", mini.content_hash, mini.pack.pack.title, 1.0)
    store.end(sid, completed=True)
    store.close()
    code, out, _ = run(capsys, "history", "--data-dir", str(tmp_path))
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["date", "pack", "duration", "completed"]
    assert [line.split()[-1] for line in lines[1:3]] == ["yes", "stopped"]
    assert lines[-1] == "Streak: 1 day"
    code, out, _ = run(capsys, "history", "--data-dir", str(tmp_path), "--json")
    data = json.loads(out)
    assert data["streak"] == 1 and [s["completed"] for s in data["sessions"]] == [True, False]


def test_session_graph_prints_mermaid_and_writes_the_docs_page(capsys, tmp_path):
    code, out, _ = run(capsys, "session", "graph")
    assert code == 0 and "stateDiagram-v2" in out
    for state in State:
        assert f'state "{state.value}" as {state.name}' in out
    assert "PAUSED --> STROKES: ready / resume" in out
    assert "[internal]" not in out
    target = tmp_path / "docs" / "session-states.md"
    code, out, _ = run(capsys, "session", "graph", "--markdown", "-o", str(target))
    text = target.read_text()
    assert code == 0 and "```mermaid" in text and "| trigger | from | to | when | does |" in text


def test_the_docs_page_is_up_to_date():
    from pathlib import Path

    from voiceguide.session.graph import markdown

    page = Path(__file__).resolve().parents[2] / "docs" / "session-states.md"
    assert page.read_text(encoding="utf-8") == markdown(), \
        "regenerate with: voiceguide session graph --markdown -o docs/session-states.md"
