"""What the session says: sentences with their placeholders filled, counts, hints, and how long speech takes."""

from __future__ import annotations

from voiceguide.core.commands import Command, Vocabulary
from voiceguide.packs.schema import Pack, StrokeGroup, sentences
from voiceguide.packs.timeline import SENTENCE_GAP, speech_seconds
from voiceguide.session.position import Position, step_seconds_left

__all__ = [
    "SENTENCE_GAP",
    "speech_seconds",
    "fill",
    "step_script",
    "group_script",
    "stroke_text",
    "where_text",
    "seconds_left",
    "Hints",
]


def fill(text: str, values: dict[str, object]) -> str:
    """Fill the documented placeholders ({count}, {total}, {step}, {steps}, {remaining})."""
    return text.format_map(values)


def _step_values(pack: Pack, index: int) -> dict[str, object]:
    step = pack.steps[index]
    first = step.strokes[0].count if step.strokes else 0
    return {
        "count": first,
        "total": step.total_strokes,
        "step": index + 1,
        "steps": len(pack.steps),
        "remaining": len(pack.steps) - index - 1,
    }


def step_script(pack: Pack, index: int) -> list[str]:
    """The step's own narration."""
    values = _step_values(pack, index)
    return [fill(s, values) for s in sentences(pack.steps[index].say)]


def group_script(pack: Pack, pos: Position) -> list[str]:
    """What is said before a stroke group starts."""
    step = pack.steps[pos.step]
    if pos.group >= len(step.strokes):
        return []
    group = step.strokes[pos.group]
    values = _step_values(pack, pos.step) | {"count": group.count}
    return [fill(s, values) for s in sentences(group.say)]


def stroke_text(pack: Pack, pos: Position, group: StrokeGroup, number: int) -> tuple[str, str] | None:
    """What to say on repetition `number`: (kind, text), or None when only a tick is played."""
    cue = None
    if group.cue:
        values = _step_values(pack, pos.step) | {
            "count": number,
            "total": group.count,
            "remaining": group.count - number,
        }
        cue = fill(group.cue, values)
    if group.count_aloud:
        if cue is None:
            return "count", str(number)
        return "count", cue if group.cue and "{count}" in group.cue else f"{number}, {cue}"
    if cue is not None:
        return "cue", cue
    return None


def seconds_left(pack: Pack, pos: Position, tempo: float) -> float:
    """Estimated seconds to the end of the routine from a position."""
    rate = pack.voice.rate / tempo
    total = step_seconds_left(pack, pos, tempo)
    for i in range(pos.step + 1, len(pack.steps)):
        step = pack.steps[i]
        total += sum(speech_seconds(s, rate) for s in step_script(pack, i))
        total += sum(speech_seconds(s, rate) for g in range(len(step.strokes))
                     for s in group_script(pack, Position(i, g)))
        total += step_seconds_left(pack, Position(i), tempo)
    if pack.closing is not None:
        total += sum(speech_seconds(s, rate) for s in sentences(pack.closing.say))
    return total


def _duration_words(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes >= 2:
        return f"about {minutes} minutes"
    if seconds >= 50:
        return "about a minute"
    return f"about {max(5, int(round(seconds / 5.0)) * 5)} seconds"


def where_text(pack: Pack, pos: Position, tempo: float, stroke: int = 0) -> str:
    """Answer to 'where am I': the step, the repetition, and the time left."""
    if pos.step >= len(pack.steps):
        return "All steps are done; this is the closing."
    step = pack.steps[pos.step]
    parts = [f"Step {pos.step + 1} of {len(pack.steps)}, {step.title}."]
    if step.strokes and pos.group < len(step.strokes):
        group = step.strokes[pos.group]
        if stroke > 0:
            parts.append(f"Repetition {stroke} of {group.count}.")
        if len(step.strokes) > 1:
            parts.append(f"Part {pos.group + 1} of {len(step.strokes)}.")
    parts.append(f"{_duration_words(seconds_left(pack, pos, tempo)).capitalize()} left.")
    return " ".join(parts)


class Hints:
    """The session's own sentences, worded with the pack's phrases: said by the session, pre-rendered by
    `pack render`."""

    first_step = "This is the first step."
    beginning = "This is the beginning."
    slowest = "That is the slowest pace."
    fastest = "That is the fastest pace."
    slower = "Slower."
    faster = "Faster."

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary

    def phrase(self, command: Command) -> str:
        """How the person is told to say a command: its first phrase in this vocabulary."""
        phrases = self.vocabulary.phrases.get(command) or (command.value,)
        return phrases[0]

    @property
    def hold(self) -> str:
        return f"When you have finished, say {self.phrase(Command.READY)}."

    @property
    def remind(self) -> str:
        return f"Take your time. When you have finished, say {self.phrase(Command.READY)}."

    @property
    def paused(self) -> str:
        return f"Paused. Say {self.phrase(Command.RESUME)} to carry on."

    @property
    def confirm(self) -> str:
        return (f"Do you want to end the session? Say {self.phrase(Command.YES)} to end, "
                f"or {self.phrase(Command.NO)} to carry on.")

    @property
    def stopped(self) -> str:
        return f"Stopped. Your place is saved; next time, say {self.phrase(Command.RESUME)} to continue."

    def offer(self, pack: Pack, step: int) -> str:
        """The offer of a saved place at `step` (past the last step: just before the closing)."""
        where = "just before the closing" if step >= len(pack.steps) else f"step {step + 1}, {pack.steps[step].title}"
        return (f"You stopped at {where}. Say {self.phrase(Command.RESUME)} to continue, "
                f"or {self.phrase(Command.START)} to begin again.")

    def fixed(self, pack: Pack) -> list[str]:
        """Every hint whose words do not depend on the moment (help and "where" do): worth rendering ahead."""
        return [self.hold, self.remind, self.paused, self.confirm, self.stopped, self.first_step, self.beginning,
                self.slowest, self.fastest, self.slower, self.faster,
                *(self.offer(pack, i) for i in range(len(pack.steps) + 1))]
