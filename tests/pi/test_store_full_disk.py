"""A full or read-only disk: history writes fail softly (logged once), the session goes on to its end.

The failures are SQLite's own: `max_page_count` makes the database file unable to grow (SQLITE_FULL, what a
full SD card gives), `query_only` refuses every write (SQLITE_READONLY, what a card remounted read-only gives).
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from voiceguide.core.commands import Command
from voiceguide.packs.loader import load_pack
from voiceguide.session import SessionSettings, State
from voiceguide.session.simulate import Simulation
from voiceguide.store import DB_NAME, Store


def _pin_size(store: Store) -> None:
    """The file cannot grow by a single page any more: the disk is full."""
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count={pages}")


def test_a_full_disk_skips_writes_and_recovers_when_space_returns(tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    """Writes that need space return None instead of raising; the next write after space is freed works."""
    store = Store.open(tmp_path)
    _pin_size(store)
    with caplog.at_level(logging.DEBUG, logger="voiceguide.store"):
        ids = [store.begin("p", "h", "a long title " * 50, 1.0) for _ in range(100)]
    assert None in ids  # the disk filled up on the way
    full_at = ids.index(None)
    assert all(i is None for i in ids[full_at:])
    assert store.write_failures == 100 - full_at
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "SQLITE_FULL" in warnings[0].getMessage()  # once, not a log flood
    # nothing half-written: every row that exists is whole, and the connection is usable
    assert store._db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == full_at
    store._db.execute("PRAGMA max_page_count=1073741823")  # space freed
    sid = store.begin("p", "h", "after", 1.0)
    assert isinstance(sid, int)
    store.save_position(sid, 3, "neck", 0, 2, 1.0)
    cp = store.checkpoint_for("p")
    assert cp is not None and cp.session_id == sid and cp.step == 3
    store.close()


def test_the_session_goes_on_when_the_disk_turns_read_only(tmp_path: Path,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    """The built-in routine runs to its end although history stops being written halfway."""
    loaded = load_pack("facial-massage")
    store = Store.open(tmp_path)
    sim = Simulation(loaded.pack, loaded.content_hash, SessionSettings(hold_timeout=2.0, remember_tempo=True),
                     store=store)
    sim.clock.post(sim.session.start)
    sim.clock.run(until=lambda: sim.session.over, limit=120.0)
    assert not sim.session.over
    saved = store.checkpoint_for(loaded.pack.pack.id)
    assert saved is not None and saved.step >= 1
    store._db.execute("PRAGMA query_only=ON")  # the card went read-only
    with caplog.at_level(logging.WARNING, logger="voiceguide.store"):
        sim.command(Command.SLOWER)  # writes a command and a tempo preference: both refused
        sim.command(Command.REPEAT)
        sim.clock.run(until=lambda: sim.session.over)
    assert sim.session.over and sim.session.state is State.FINISHED
    assert store.write_failures >= 3
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING][0].startswith(
        "history not saved (SQLITE_READONLY")
    store._db.execute("PRAGMA query_only=OFF")
    # what was written before the failure is intact: the checkpoint from before is still the latest one
    after = sqlite3.connect(tmp_path / DB_NAME)
    row = after.execute("SELECT step, completed FROM sessions ORDER BY id DESC LIMIT 1").fetchone()
    after.close()
    assert row == (saved.step, 0)
    store.close()


def test_other_sqlite_errors_are_not_hidden(tmp_path: Path) -> None:
    """Only 'the machine cannot store it' is soft; a broken query still raises."""
    store = Store.open(tmp_path)
    store._db.execute("DROP TABLE pack_prefs")
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        store.save_tempo("p", 1.0)
    store.close()
