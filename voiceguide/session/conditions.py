"""What the session machine asks before a transition: the conditions of its table, read from the conductor's state."""

from __future__ import annotations

from voiceguide.packs.schema import Pack
from voiceguide.session.machine import State
from voiceguide.session.position import Position, back_target, next_group, resume_target
from voiceguide.store import Checkpoint

__all__ = ["Conditions"]


class Conditions:
    """The machine's conditions (named in its table) over the place in the routine; the Conductor inherits them."""

    pack: Pack
    content_hash: str
    pos: Position
    checkpoint: Checkpoint | None
    in_stroke: bool
    return_stack: list[State]
    _script: list[str]
    _line: int

    def has_checkpoint(self) -> bool:
        """A saved, unfinished place exists for this pack, and its step still exists."""
        return self.checkpoint is not None and not self._checkpoint_lost()

    def _checkpoint_lost(self) -> bool:
        """The pack changed and the saved step is gone (a saved closing is never lost)."""
        cp = self.checkpoint
        return (cp is not None and cp.pack_hash != self.content_hash and cp.step < len(self.pack.steps)
                and cp.step_id not in {s.id for s in self.pack.steps})

    def checkpoint_at_end(self) -> bool:
        """The saved place is past the last step (only the closing was left)."""
        return self._checkpoint_target().step >= len(self.pack.steps)

    def more_to_say(self) -> bool:
        """Sentences of the current script are left."""
        return self._line < len(self._script)

    def is_hold_step(self) -> bool:
        """The current step waits for the person instead of counting."""
        return self.pack.steps[self.pos.step].hold

    def stroke_continues(self) -> bool:
        """This beat starts another repetition (rather than ending the group)."""
        group = self.pack.steps[self.pos.step].strokes[self.pos.group]
        return not (self.in_stroke and self.pos.done + 1 >= group.count)

    def has_next_group(self) -> bool:
        """The step has another stroke group after this one."""
        return self.pos.step < len(self.pack.steps) and next_group(self.pack, self.pos) is not None

    def has_rest(self) -> bool:
        """The step ends with quiet seconds."""
        return self.pack.steps[self.pos.step].rest > 0

    def has_next_step(self) -> bool:
        """Another step follows."""
        return self.pos.step + 1 < len(self.pack.steps)

    def can_go_back(self) -> bool:
        """There is somewhere to go back to."""
        return back_target(self.pack, self.pos) is not None

    def _returns_to(self, state: State) -> bool:
        return bool(self.return_stack) and self.return_stack[-1] is state

    def returns_to_intro(self) -> bool:
        """The interruption came from the intro."""
        return self._returns_to(State.INTRO)

    def returns_to_narrating(self) -> bool:
        """The interruption came from a step's narration."""
        return self._returns_to(State.NARRATING)

    def returns_to_strokes(self) -> bool:
        """The interruption came mid-count."""
        return self._returns_to(State.STROKES)

    def returns_to_hold(self) -> bool:
        """The interruption came during a hold."""
        return self._returns_to(State.HOLD)

    def returns_to_rest(self) -> bool:
        """The interruption came during a rest."""
        return self._returns_to(State.REST)

    def returns_to_closing(self) -> bool:
        """The interruption came during the closing."""
        return self._returns_to(State.CLOSING)

    def returns_to_paused(self) -> bool:
        """The stop question was asked while paused."""
        return self._returns_to(State.PAUSED)

    def _checkpoint_target(self) -> Position:
        cp = self.checkpoint
        assert cp is not None
        if cp.pack_hash == self.content_hash:
            return resume_target(self.pack, Position(cp.step, cp.group, cp.done))
        ids = [s.id for s in self.pack.steps]
        if cp.step_id in ids:
            return Position(ids.index(cp.step_id))
        return Position(len(self.pack.steps)) if cp.step >= len(self.pack.steps) else Position(0)
