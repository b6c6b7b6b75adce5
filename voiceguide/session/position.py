"""Where the person is in a routine, and where each move (next, back, resume) takes them."""

from __future__ import annotations

from dataclasses import dataclass

from voiceguide.packs.schema import Pack

__all__ = ["Position", "next_group", "back_target", "resume_target", "in_range", "step_seconds_left"]


@dataclass(frozen=True)
class Position:
    """A place in the routine: step, stroke group, and repetitions already done in that group.

    `step == len(pack.steps)` means every step is done (closing); `group == len(step.strokes)` means the
    step's strokes are done (its rest)."""

    step: int
    group: int = 0
    done: int = 0

    def as_dict(self) -> dict[str, int]:
        """For events and JSON."""
        return {"step": self.step, "group": self.group, "done": self.done}


def in_range(pack: Pack, pos: Position) -> bool:
    """Whether a position exists in a pack."""
    if pos.step == len(pack.steps):
        return pos.group == 0 and pos.done == 0
    if not 0 <= pos.step < len(pack.steps):
        return False
    groups = pack.steps[pos.step].strokes
    if pos.group == len(groups):
        return pos.done == 0
    return 0 <= pos.group < len(groups) and 0 <= pos.done <= groups[pos.group].count


def next_group(pack: Pack, pos: Position) -> Position | None:
    """The start of the next stroke group of the same step, if there is one."""
    groups = pack.steps[pos.step].strokes if pos.step < len(pack.steps) else []
    if pos.group + 1 < len(groups):
        return Position(pos.step, pos.group + 1, 0)
    return None


def back_target(pack: Pack, pos: Position) -> Position | None:
    """`back`: mid-group → the start of that group; at a group's start → the previous group;
    at a step's start → the previous step; at the very start → nowhere (None)."""
    if pos.step >= len(pack.steps):
        return Position(len(pack.steps) - 1) if pack.steps else None
    groups = pack.steps[pos.step].strokes
    if pos.group >= len(groups) and groups:  # resting after the step: go back into the step
        return Position(pos.step, 0, 0)
    if pos.done > 0:
        return Position(pos.step, pos.group, 0)
    if pos.group > 0:
        return Position(pos.step, pos.group - 1, 0)
    if pos.step > 0:
        return Position(pos.step - 1, 0, 0)
    return None


def resume_target(pack: Pack, pos: Position) -> Position:
    """Where to continue from a saved position: past a finished step's strokes is the next step."""
    if pos.step >= len(pack.steps):
        return Position(len(pack.steps))
    groups = pack.steps[pos.step].strokes
    if groups and pos.group < len(groups) and pos.done >= groups[pos.group].count:
        nxt = next_group(pack, pos)
        if nxt is not None:
            return nxt
        return Position(pos.step + 1)
    if pos.group >= len(groups) and groups:
        return Position(pos.step + 1)
    return pos


def step_seconds_left(pack: Pack, pos: Position, tempo: float) -> float:
    """Stroke and hold seconds left in the current step, from a position."""
    if pos.step >= len(pack.steps):
        return 0.0
    step = pack.steps[pos.step]
    if step.hold:
        return step.hold_seconds
    left = 0.0
    for i, group in enumerate(step.strokes):
        if i > pos.group:
            left += group.duration(tempo)
        elif i == pos.group:
            left += (group.count - pos.done) * group.seconds * tempo
    return left + step.rest
