"""How long a pack takes: per-step estimates from word counts, rates, strokes, holds and rests."""

from __future__ import annotations

from dataclasses import dataclass

from voiceguide.packs.schema import Pack, Step, sentences

__all__ = [
    "SENTENCE_GAP",
    "StepTiming",
    "framing_seconds",
    "opening_seconds",
    "speech_seconds",
    "step_timing",
    "timeline",
    "total_seconds",
]

SENTENCE_GAP = 0.5
"""Seconds of quiet between narrated sentences."""


def speech_seconds(text: str, rate_wpm: float) -> float:
    """Estimated time to say a text at a rate (words per minute), with the gap after it."""
    words = max(1, len(text.split()))
    return words * 60.0 / rate_wpm + SENTENCE_GAP


@dataclass(frozen=True)
class StepTiming:
    """One row of a timeline."""

    index: int
    step: Step
    narration: float
    strokes: float
    hold: float
    rest: float

    @property
    def total(self) -> float:
        """Seconds for the whole step."""
        return self.narration + self.strokes + self.hold + self.rest


def _said(say: str | list[str] | None, rate: float) -> float:
    return sum(speech_seconds(s, rate) for s in sentences(say))


def step_timing(pack: Pack, index: int, tempo: float = 1.0) -> StepTiming:
    """Timing of one step at a tempo (tempo scales stroke time and speech rate alike)."""
    step = pack.steps[index]
    rate = pack.voice.rate / tempo
    narration = _said(step.say, rate) + sum(_said(g.say, rate) for g in step.strokes)
    strokes = sum(g.duration(tempo) for g in step.strokes)
    hold = step.hold_seconds if step.hold else 0.0
    return StepTiming(index, step, narration, strokes, hold, step.rest)


def timeline(pack: Pack, tempo: float = 1.0) -> list[StepTiming]:
    """Every step's timing, in order."""
    return [step_timing(pack, i, tempo) for i in range(len(pack.steps))]


def opening_seconds(pack: Pack, tempo: float = 1.0) -> float:
    """Intro and safety narration: when the first step starts."""
    rate = pack.voice.rate / tempo
    return sum(_said(block.say, rate) for block in (pack.intro, pack.safety) if block)


def framing_seconds(pack: Pack, tempo: float = 1.0) -> float:
    """Intro, safety and closing narration."""
    closing = _said(pack.closing.say, pack.voice.rate / tempo) if pack.closing else 0.0
    return opening_seconds(pack, tempo) + closing


def total_seconds(pack: Pack, tempo: float = 1.0) -> float:
    """The whole routine, start to finish."""
    return framing_seconds(pack, tempo) + sum(t.total for t in timeline(pack, tempo))
