"""The history database and the checkpoint/resume flow across sessions."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from voiceguide.core.commands import Command as C
from voiceguide.packs.loader import parse_pack
from voiceguide.session import Position, SessionSettings, State
from voiceguide.store import DB_NAME, Store, streak


def test_the_database_uses_wal_and_keeps_what_was_committed(tmp_path):
    store = Store.open(tmp_path)
    sid = store.begin("p", "h", "P", 1.0)
    store.save_position(sid, 2, "neck", 1, 3, 1.25)
    # another connection (as after a crash) sees every committed change
    other = sqlite3.connect(tmp_path / DB_NAME)
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert other.execute("SELECT step, step_id, grp, done, tempo FROM sessions WHERE id=?", (sid,)).fetchone() \
        == (2, "neck", 1, 3, 1.25)
    other.close()
    cp = store.checkpoint_for("p")
    assert cp is not None and (cp.step, cp.step_id, cp.group, cp.done, cp.tempo) == (2, "neck", 1, 3, 1.25)
    store.close()


def test_checkpoints_are_offered_until_finished_or_declined(tmp_path):
    store = Store.open(tmp_path)
    a = store.begin("p", "h", "P", 1.0)
    store.end(a, completed=False)  # a confirmed stop stays resumable
    assert store.checkpoint_for("p").session_id == a
    assert store.checkpoint_for("other") is None
    store.discard(a)
    assert store.checkpoint_for("p") is None
    b = store.begin("p", "h", "P", 1.0)
    store.end(b, completed=True)
    assert store.checkpoint_for("p") is None
    store.close()


def test_history_lists_newest_first_with_durations():
    now = [1_700_000_000.0]
    store = Store(":memory:", wall=lambda: now[0])
    a = store.begin("p", "h", "Pack P", 1.0)
    now[0] += 600
    store.end(a, completed=True)
    now[0] += 3600
    b = store.begin("q", "h", "Pack Q", 1.0)
    now[0] += 90
    store.save_position(b, 1, "x", 0, 0, 1.0)  # never ended: a crash
    rows = store.history()
    assert [(r.pack_id, r.completed, round(r.duration)) for r in rows] == [("q", False, 90), ("p", True, 600)]
    assert rows[0].as_dict()["ended"] is False


def test_streak_counts_days_in_a_row_up_to_today_or_yesterday():
    today = dt.date(2026, 11, 27)
    days = {today - dt.timedelta(days=d) for d in (0, 1, 2, 4)}
    assert streak(days, today) == 3
    assert streak(days - {today}, today) == 2  # today is still open: yesterday's run counts
    assert streak({today - dt.timedelta(days=2)}, today) == 0
    assert streak(set(), today) == 0


def test_streak_from_completed_sessions_on_local_dates():
    moments = [dt.datetime(2026, 11, d, 8, 0).timestamp() for d in (24, 25, 26, 27)]
    clock = [moments[0]]
    store = Store(":memory:", wall=lambda: clock[0])
    for i, at in enumerate(moments):
        clock[0] = at
        sid = store.begin("p", "h", "P", 1.0)
        store.end(sid, completed=i != 1)  # the 25th was only stopped
    assert store.streak(dt.date(2026, 11, 27)) == 2


def test_a_stopped_session_is_offered_and_resumes_where_it_stopped(mini, make_harness, store):
    h = make_harness(mini, store=store)
    h.start()
    h.run_until(lambda: h.state is State.STROKES and h.session.position.group == 1)
    h.until_count("out")
    h.cmd(C.STOP)
    h.cmd(C.YES)
    first = h.session.session_id

    h2 = make_harness(mini, store=store)
    h2.start()
    assert h2.state is State.OFFER
    assert h2.texts("hint") == ["You stopped at step 1, Forehead. Say resume to continue, or start to begin again."]
    assert h2.session.expected_commands() >= {C.RESUME, C.START, C.YES, C.NO}
    h2.cmd(C.RESUME)
    assert (h2.state, h2.session.position) == (State.NARRATING, Position(0, 1, 0))
    assert h2.texts()[0] == "Welcome back. Step 1, Forehead."
    assert store.session(h2.session.session_id)["resumed_from"] == first
    h2.until_state(State.STROKES)
    assert h2.until_count("out").t > 0
    assert store.checkpoint_for("mini").session_id == h2.session.session_id  # the old one is no longer offered


def test_resume_mid_group_continues_with_the_next_repetition(mini, make_harness, store):
    h = make_harness(mini, store=store)
    h.start()
    h.until_count("2, up")
    assert store.checkpoint_for("mini").done == 1
    h.cmd(C.STOP)
    h.cmd(C.YES)
    h2 = make_harness(mini, store=store)
    h2.start()
    h2.cmd(C.YES)
    h2.until_state(State.NARRATING)
    h2.mark()
    h2.until_count("3, up")
    assert h2.texts("count") == ["2, up", "3, up"]  # repetition 1 was done; 2 was in progress


def test_start_at_the_offer_begins_again_and_forgets_the_old_place(mini, make_harness, store):
    h = make_harness(mini, store=store)
    h.start()
    h.until_state(State.HOLD)
    h.cmd(C.STOP)
    h.cmd(C.YES)
    h2 = make_harness(mini, store=store)
    h2.start()
    h2.cmd(C.START)
    assert h2.state is State.INTRO and h2.session.position == Position(0)
    h2.cmd(C.NEXT)
    h2.cmd(C.STOP)
    h2.cmd(C.YES)
    cp = store.checkpoint_for("mini")
    assert cp.session_id == h2.session.session_id and cp.step == 0


def _changed(mini, toml_edit):
    text = mini.path.read_text()
    return parse_pack(toml_edit(text).encode(), "changed.toml")


def test_a_changed_pack_resumes_at_the_step_with_the_same_id(mini, make_harness, store):
    h = make_harness(mini, store=store)
    h.start()
    h.until_state(State.HOLD)  # step 2, "breathe"
    h.cmd(C.STOP)
    h.cmd(C.YES)
    changed = _changed(mini, lambda t: t.replace('[[steps]]\nid = "breathe"', '[[steps]]\nid = "neck"\n'
                                                 'title = "Neck"\narea = "neck"\ntechnique = "glide"\n'
                                                 'say = "Neck."\nhold = true\n\n[[steps]]\nid = "breathe"', 1))
    assert changed.content_hash != mini.content_hash
    h2 = make_harness(changed, store=store)
    h2.start()
    assert h2.texts("hint")[0].startswith("You stopped at step 3, Breathe.")
    h2.cmd(C.RESUME)
    assert h2.session.position == Position(2, 0, 0)
    h2.until_state(State.HOLD)
    assert h2.texts()[:2] == ["The routine has changed since last time, so we continue at the start of that step.",
                              "Welcome back. Step 3, Breathe."]


def test_a_changed_pack_without_that_step_starts_over_with_a_notice(mini, make_harness, store):
    h = make_harness(mini, store=store)
    h.start()
    h.until_state(State.HOLD)
    h.cmd(C.STOP)
    h.cmd(C.YES)
    changed = _changed(mini, lambda t: t.replace('id = "breathe"', 'id = "breathe-deeply"'))
    h2 = make_harness(changed, store=store)
    h2.start()  # no offer: there is nothing to resume
    assert (h2.state, h2.session.position) == (State.INTRO, Position(0, 0, 0))
    assert h2.texts()[0] == ("The routine has changed since last time, and the step you stopped at is gone, "
                             "so we begin again.")
    assert store.checkpoint_for("mini").session_id == h2.session.session_id  # the old place is let go


def test_every_command_event_is_recorded(mini, make_harness, store):
    h = make_harness(mini, store=store)
    h.start()
    h.cmd(C.NEXT)
    h.cmd(C.YES)  # ignored, still recorded
    rows = store.commands(h.session.session_id)
    assert [(r["command"], r["state"], r["acted"]) for r in rows] == [
        ("start", "idle", 1), ("next", "intro", 1), ("yes", "narrating", 0)]


def test_a_finished_session_is_completed_and_not_offered(mini, make_harness, store):
    h = make_harness(mini, store=store)
    h.start()
    h.until_state(State.FINISHED)
    row = store.session(h.session.session_id)
    assert row["completed"] == 1 and row["ended"] is not None
    assert store.checkpoint_for("mini") is None
    assert store.history()[0].completed


@pytest.mark.parametrize("tempo", [0.5, 2.0])
def test_settings_tempo_overrides_the_remembered_one(mini, make_harness, store, tempo):
    store.save_tempo("mini", 1.25)
    h = make_harness(mini, SessionSettings(tempo=tempo), store=store)
    h.start()
    assert h.session.tempo == tempo
