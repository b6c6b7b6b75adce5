"""Shared pieces for the session tests: the test packs and a harness that drives a session step by step."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from voiceguide.core.commands import Command
from voiceguide.packs.loader import LoadedPack, load_pack
from voiceguide.session import SessionSettings, State
from voiceguide.session.simulate import Simulation
from voiceguide.session.transcript import Entry
from voiceguide.store import Store

PACKS = Path(__file__).parent / "packs"


class Harness:
    """A Simulation driven by hand: run until something happens, say a command, read what was said."""

    def __init__(self, loaded: LoadedPack, settings: SessionSettings | None = None, store: Store | None = None):
        self.loaded = loaded
        self.sim = Simulation(loaded.pack, loaded.content_hash, settings or SessionSettings(hold_timeout=30.0),
                              store)
        self.session = self.sim.session
        self.clock = self.sim.clock
        self._mark = 0

    @property
    def state(self) -> State:
        return self.session.state

    def start(self) -> None:
        self.sim.command(Command.START, source="test")

    def run_until(self, done: Callable[[], bool], limit: float = 3600.0) -> None:
        """Run the virtual clock until `done()`; fail if it never happens."""
        self.clock.run(until=done, limit=self.clock.now() + limit)
        assert done(), f"never happened; state {self.state}, t={self.clock.now():.1f}"

    def until_state(self, state: State, limit: float = 3600.0) -> None:
        self.run_until(lambda: self.state is state, limit)

    def until_count(self, text: str, limit: float = 3600.0) -> Entry:
        """Run until a repetition whose text starts with `text` is announced; return that entry."""
        start = len(self.sim.entries)

        def seen() -> bool:
            return any(e.type == "say" and e.data.get("kind") in ("count", "cue") and e.text.startswith(text)
                       for e in self.sim.entries[start:])

        self.run_until(seen, limit)
        return next(e for e in self.sim.entries[start:] if e.type == "say" and e.text.startswith(text))

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def cmd(self, command: Command) -> bool:
        """Say a command now; `since()` then holds what it caused (not the command line itself)."""
        at = len(self.sim.entries)
        acted = self.sim.command(command, source="test")
        self._mark = at + 1
        return acted

    def mark(self) -> None:
        self._mark = len(self.sim.entries)

    def since(self, type_: str | None = None, kind: str | None = None) -> list[Entry]:
        """Entries since the last mark (or command)."""
        out = self.sim.entries[self._mark:]
        if type_ is not None:
            out = [e for e in out if e.type == type_]
        if kind is not None:
            out = [e for e in out if e.data.get("kind") == kind]
        return out

    def texts(self, kind: str | None = None) -> list[str]:
        return [e.text for e in self.since("say", kind)]


@pytest.fixture
def mini() -> LoadedPack:
    return load_pack(PACKS / "mini")


@pytest.fixture
def builtin() -> LoadedPack:
    return load_pack("facial-massage")


@pytest.fixture
def harness(mini: LoadedPack) -> Harness:
    return Harness(mini)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(tmp_path / "data")
    yield s
    s.close()


@pytest.fixture
def make_harness() -> type[Harness]:
    return Harness
