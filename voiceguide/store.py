"""SQLite history: sessions, their checkpoints, their commands, and the tempo each pack was left at.

WAL journal and one transaction per change, so a power cut loses at most the change being written.
A write the machine cannot make (disk full, read-only, I/O error) is logged and skipped: the session goes on."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec, TypeVar

__all__ = ["DB_NAME", "Checkpoint", "HistoryRow", "Store", "default_data_dir", "streak"]

_LOGGER = logging.getLogger(__name__)

DB_NAME = "voiceguide.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    pack_id TEXT NOT NULL,
    pack_hash TEXT NOT NULL,
    pack_title TEXT NOT NULL DEFAULT '',
    started REAL NOT NULL,
    updated REAL NOT NULL,
    ended REAL,
    completed INTEGER NOT NULL DEFAULT 0,
    resumable INTEGER NOT NULL DEFAULT 1,
    resumed_from INTEGER REFERENCES sessions(id),
    step INTEGER NOT NULL DEFAULT 0,
    step_id TEXT,
    grp INTEGER NOT NULL DEFAULT 0,
    done INTEGER NOT NULL DEFAULT 0,
    tempo REAL NOT NULL DEFAULT 1.0
);
CREATE INDEX IF NOT EXISTS sessions_pack ON sessions(pack_id, resumable);
CREATE TABLE IF NOT EXISTS commands (
    id INTEGER PRIMARY KEY,
    session_id INTEGER REFERENCES sessions(id),
    at REAL NOT NULL,
    t REAL NOT NULL,
    command TEXT NOT NULL,
    source TEXT NOT NULL,
    state TEXT NOT NULL,
    acted INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS pack_prefs (
    pack_id TEXT PRIMARY KEY,
    tempo REAL NOT NULL
);
"""


_P = ParamSpec("_P")
_R = TypeVar("_R")

# SQLite result codes that mean "this machine cannot store it now", not a bug in the query.
_SOFT_ERRORS = ("SQLITE_FULL", "SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_BUSY")


def _soft_write(method: Callable[_P, _R]) -> Callable[_P, _R | None]:
    """History must never stop a session: a failed write is logged (once loudly) and returns None."""

    @functools.wraps(method)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R | None:
        try:
            return method(*args, **kwargs)
        except sqlite3.OperationalError as exc:
            name = getattr(exc, "sqlite_errorname", "") or ""
            if not name.startswith(_SOFT_ERRORS):
                raise
            store = args[0]
            assert isinstance(store, Store)
            store.write_failures += 1
            level = logging.WARNING if store.write_failures == 1 else logging.DEBUG
            _LOGGER.log(level, "history not saved (%s: %s); the session goes on without it", name, exc)
            return None

    return wrapper


def default_data_dir() -> Path:
    """The user data dir (platformdirs), e.g. ~/.local/share/voiceguide."""
    from voiceguide.paths import user_data_dir

    return user_data_dir()


@dataclass(frozen=True)
class Checkpoint:
    """An unfinished session's saved place."""

    session_id: int
    pack_id: str
    pack_hash: str
    step: int
    step_id: str | None
    group: int
    done: int
    tempo: float
    updated: float


@dataclass(frozen=True)
class HistoryRow:
    """One past session, for `voiceguide history`."""

    session_id: int
    pack_id: str
    pack_title: str
    started: float
    ended: float | None
    updated: float
    completed: bool

    @property
    def duration(self) -> float:
        """Seconds from start to end (to the last checkpoint when it never ended)."""
        return (self.ended if self.ended is not None else self.updated) - self.started

    def as_dict(self) -> dict[str, object]:
        """For `--json`."""
        return {
            "id": self.session_id,
            "pack": self.pack_id,
            "title": self.pack_title,
            "started": dt.datetime.fromtimestamp(self.started).astimezone().isoformat(timespec="seconds"),
            "duration": round(self.duration, 1),
            "completed": self.completed,
            "ended": self.ended is not None,
        }


class Store:
    """The history database; `path=":memory:"` keeps nothing (simulations)."""

    def __init__(self, path: Path | str, wall: Callable[[], float] = time.time) -> None:
        self.path = path
        self._wall = wall
        self.write_failures = 0
        """Writes skipped because the disk was full or read-only (see `_soft_write`)."""
        if isinstance(path, Path):
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA busy_timeout=5000")
        with self._tx():
            for statement in _split(_SCHEMA):
                self._db.execute(statement)

    @classmethod
    def open(cls, data_dir: Path | None = None) -> Store:
        """The database in a data dir (default: the user data dir)."""
        folder = data_dir if data_dir is not None else default_data_dir()
        return cls(folder / DB_NAME)

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def _tx(self) -> _Transaction:
        return _Transaction(self._db)

    # ---- sessions and checkpoints ----------------------------------------------------------------
    @_soft_write
    def begin(self, pack_id: str, pack_hash: str, title: str, tempo: float, resumed_from: int | None = None) -> int:
        """A new session row; returns its id (None when it could not be written: see `_soft_write`)."""
        now = self._wall()
        with self._tx():
            cur = self._db.execute(
                "INSERT INTO sessions (pack_id, pack_hash, pack_title, started, updated, tempo, resumed_from)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (pack_id, pack_hash, title, now, now, tempo, resumed_from),
            )
        assert cur.lastrowid is not None
        return cur.lastrowid

    @_soft_write
    def save_position(self, session_id: int, step: int, step_id: str | None, group: int, done: int,
                      tempo: float) -> None:
        """The checkpoint: where the session is, written at every step and stroke boundary."""
        with self._tx():
            self._db.execute(
                "UPDATE sessions SET step=?, step_id=?, grp=?, done=?, tempo=?, updated=? WHERE id=?",
                (step, step_id, group, done, tempo, self._wall(), session_id),
            )

    @_soft_write
    def end(self, session_id: int, completed: bool) -> None:
        """The session ended: finished (nothing to resume) or stopped (resumable)."""
        with self._tx():
            self._db.execute(
                "UPDATE sessions SET ended=?, updated=?, completed=?, resumable=? WHERE id=?",
                (self._wall(), self._wall(), int(completed), int(not completed), session_id),
            )

    @_soft_write
    def discard(self, session_id: int) -> None:
        """A saved place that was resumed or declined is no longer offered."""
        with self._tx():
            self._db.execute("UPDATE sessions SET resumable=0 WHERE id=?", (session_id,))

    def checkpoint_for(self, pack_id: str) -> Checkpoint | None:
        """The latest unfinished session of a pack, if any."""
        row = self._db.execute(
            "SELECT * FROM sessions WHERE pack_id=? AND resumable=1 AND completed=0 ORDER BY id DESC LIMIT 1",
            (pack_id,),
        ).fetchone()
        if row is None:
            return None
        return Checkpoint(row["id"], row["pack_id"], row["pack_hash"], row["step"], row["step_id"], row["grp"],
                          row["done"], row["tempo"], row["updated"])

    def session(self, session_id: int) -> sqlite3.Row | None:
        """One session row (for tests and tools)."""
        row: sqlite3.Row | None = self._db.execute("SELECT * FROM sessions WHERE id=?", (session_id,)).fetchone()
        return row

    # ---- commands ---------------------------------------------------------------------------------
    @_soft_write
    def record_command(self, session_id: int | None, t: float, command: str, source: str, state: str,
                       acted: bool) -> None:
        """One command event, as it reached the session."""
        with self._tx():
            self._db.execute(
                "INSERT INTO commands (session_id, at, t, command, source, state, acted) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (session_id, self._wall(), t, command, source, state, int(acted)),
            )

    def commands(self, session_id: int) -> list[sqlite3.Row]:
        """The command events of a session, in order."""
        return list(self._db.execute("SELECT * FROM commands WHERE session_id=? ORDER BY id", (session_id,)))

    # ---- preferences --------------------------------------------------------------------------------
    def tempo_for(self, pack_id: str) -> float | None:
        """The tempo this pack was last left at."""
        row = self._db.execute("SELECT tempo FROM pack_prefs WHERE pack_id=?", (pack_id,)).fetchone()
        return float(row["tempo"]) if row else None

    @_soft_write
    def save_tempo(self, pack_id: str, tempo: float) -> None:
        """Remember a tempo for next time."""
        with self._tx():
            self._db.execute(
                "INSERT INTO pack_prefs (pack_id, tempo) VALUES (?, ?) "
                "ON CONFLICT(pack_id) DO UPDATE SET tempo=excluded.tempo",
                (pack_id, tempo),
            )

    # ---- history ------------------------------------------------------------------------------------
    def history(self, limit: int | None = None) -> list[HistoryRow]:
        """Past sessions, newest first."""
        sql = "SELECT * FROM sessions ORDER BY started DESC, id DESC"
        params: tuple[int, ...] = ()
        if limit is not None:
            sql += " LIMIT ?"
            params = (limit,)
        return [HistoryRow(r["id"], r["pack_id"], r["pack_title"], r["started"], r["ended"], r["updated"],
                           bool(r["completed"])) for r in self._db.execute(sql, params)]

    def completed_days(self) -> set[dt.date]:
        """Local dates on which some session was completed."""
        rows = self._db.execute("SELECT ended FROM sessions WHERE completed=1 AND ended IS NOT NULL")
        return {dt.datetime.fromtimestamp(r["ended"]).date() for r in rows}

    def streak(self, today: dt.date | None = None) -> int:
        """Days in a row with a completed session, up to today (or yesterday, if today is still open)."""
        return streak(self.completed_days(), today or dt.datetime.fromtimestamp(self._wall()).date())


def streak(days: set[dt.date], today: dt.date) -> int:
    """Consecutive days with a completed session ending today, or yesterday when today has none yet."""
    day = today if today in days else today - dt.timedelta(days=1)
    count = 0
    while day in days:
        count += 1
        day -= dt.timedelta(days=1)
    return count


def _split(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT (ROLLBACK on error): one change, all or nothing."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, value: object, tb: object) -> None:
        if kind is None:
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error:
                self._rollback()
                raise
        else:
            self._rollback()

    def _rollback(self) -> None:
        """Undo what is pending; SQLite may already have (SQLITE_FULL does), so do not mask the real error."""
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")
