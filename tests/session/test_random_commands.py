"""Random commands at random virtual times, with the invariants the session must never break."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from voiceguide.core.commands import Command
from voiceguide.packs.loader import LoadedPack, load_pack
from voiceguide.session import SessionSettings, State
from voiceguide.session.machine import ACTIVE
from voiceguide.session.position import in_range
from voiceguide.session.simulate import Simulation
from voiceguide.store import Store

from .conftest import PACKS

PACK_SPECS = [PACKS / "mini", "facial-massage"]
_LOADED: dict[str, LoadedPack] = {}
FROZEN = (State.PAUSED, State.CONFIRM_STOP)


def _pack(spec: object) -> LoadedPack:
    key = str(spec)
    if key not in _LOADED:
        _LOADED[key] = load_pack(spec)  # type: ignore[arg-type]
    return _LOADED[key]


class RandomCommands(RuleBasedStateMachine):
    """A person saying anything at any time."""

    @initialize(spec=st.sampled_from(PACK_SPECS), hold=st.sampled_from([None, 3.0, 30.0]),
                confirm=st.floats(1.0, 20.0))
    def begin(self, spec: object, hold: float | None, confirm: float) -> None:
        self.loaded = _pack(spec)
        self.store = Store(":memory:")
        self.sim = Simulation(self.loaded.pack, self.loaded.content_hash,
                              SessionSettings(hold_timeout=hold, confirm_timeout=confirm), self.store)
        self.session = self.sim.session
        self.clock = self.sim.clock
        self.frozen: tuple | None = None  # (position, next event, time) when a pause began
        self.expect_beat: tuple[float, str] | None = None
        self.sim.command(Command.START)

    def teardown(self) -> None:
        self.store.close()

    @rule(command=st.sampled_from(list(Command)))
    def say(self, command: Command) -> None:
        before_state, before_pos = self.session.state, self.session.position
        pending = self.session.next_event()
        expected = self.session.expected_commands()
        n = len(self.sim.entries)
        acted = self.sim.command(command)
        assert acted == (command in expected)
        if not acted:  # ignored without harm: nothing said, nothing moved
            assert (self.session.state, self.session.position) == (before_state, before_pos)
            assert len(self.sim.entries) == n + 1
        self.expect_beat = None
        state = self.session.state
        if state in FROZEN and before_state in ACTIVE:
            remaining = None if pending is None else (pending[0], pending[1] - self.clock.now())
            self.frozen = (before_pos, remaining, before_state)
        if before_state in FROZEN and state in ACTIVE:
            assert self.frozen is not None
            pos, remaining, came_from = self.frozen
            assert state is came_from and self.session.position == pos
            if remaining is not None:  # the pending beat or timer continues with exactly the time it had left
                trigger, due = self.session.next_event()
                assert trigger == remaining[0]
                assert due - self.clock.now() == pytest.approx(remaining[1], abs=1e-9)
                if trigger == "beat":
                    self.expect_beat = (due, state.value)
            self.frozen = None
        if state is State.STOPPED and before_state is not State.STOPPED:
            assert before_state is State.CONFIRM_STOP and command in (Command.YES, Command.STOP)

    @rule(seconds=st.one_of(st.floats(0.0, 5.0), st.floats(5.0, 120.0)))
    def wait(self, seconds: float) -> None:
        state, pos = self.session.state, self.session.position
        n = len(self.sim.entries)
        self.clock.advance(seconds)
        new = self.sim.entries[n:]
        if state in FROZEN and self.session.state in FROZEN:
            assert self.session.position == pos
            assert all(e.type not in ("say", "cue") or e.data.get("kind") == "hint" for e in new)
        if self.expect_beat is not None and self.clock.now() >= self.expect_beat[0]:
            beats = [e for e in new if e.type == "cue" or (e.type == "say" and e.data["kind"] in ("count", "cue"))
                     or e.type == "state"]
            assert beats and beats[0].t == pytest.approx(self.expect_beat[0], abs=1e-9)
            self.expect_beat = None
        if self.session.state is not state:
            self.expect_beat = None
            if state in FROZEN and self.session.state not in FROZEN:  # an unanswered stop question carried on
                _, _, came_from = self.frozen
                assert [e.data["state"] for e in new if e.type == "state"][0] == came_from.value
                self.frozen = None

    @precondition(lambda self: self.session.over)
    @rule()
    def finished_sessions_stay_over(self) -> None:
        assert self.session.expected_commands() == set()

    @invariant()
    def position_in_range(self) -> None:
        assert in_range(self.loaded.pack, self.session.position)

    @invariant()
    def ends_only_by_finishing_or_a_confirmed_stop(self) -> None:
        states = [e for e in self.sim.entries if e.type in ("state", "command")]
        for i, e in enumerate(states):
            if e.type == "state" and e.data["state"] == "finished":
                prev = [s for s in states[:i] if s.type == "state"][-1]
                assert prev.data["state"] == "closing"
            if e.type == "state" and e.data["state"] == "stopped":
                prev_state = [s for s in states[:i] if s.type == "state"][-1]
                prev_cmd = [s for s in states[:i] if s.type == "command"][-1]
                assert prev_state.data["state"] == "confirm_stop"
                assert prev_cmd.data["command"] in ("yes", "stop")

    @invariant()
    def checkpoint_equals_the_live_position(self) -> None:
        if self.session.state in (State.IDLE, State.OFFER):
            return
        row = self.store.session(self.session.session_id)
        pos = self.session.position
        assert (row["step"], row["grp"], row["done"]) == (pos.step, pos.group, pos.done)
        assert row["tempo"] == self.session.tempo
        if self.session.state is State.FINISHED:
            assert row["completed"] == 1 and self.store.checkpoint_for(self.loaded.pack.pack.id) is None

    @invariant()
    def tempo_within_bounds(self) -> None:
        assert 0.5 <= self.session.tempo <= 2.0


RandomCommands.TestCase.settings = settings(
    max_examples=300, stateful_step_count=50, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_random_commands = RandomCommands.TestCase
