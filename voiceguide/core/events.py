"""Typed events that flow one way: audio → Heard → CommandEvent → session → Say/Cue → player."""

from __future__ import annotations

from dataclasses import dataclass, field

from voiceguide.core.commands import Command

__all__ = ["Heard", "CommandEvent", "Say", "Cue", "StateChanged"]


@dataclass(frozen=True)
class Heard:
    """A recognizer's result: what it heard, the command it matched, and where in the audio."""

    text: str
    command: Command | None
    confidence: float
    start: float
    """Seconds from the start of the audio stream."""
    end: float
    engine: str = ""


@dataclass(frozen=True)
class CommandEvent:
    """A command that reaches the session (from the voice, the keyboard, or a simulation script)."""

    command: Command
    t: float
    """Clock time (seconds) when it was issued."""
    source: str = "voice"


@dataclass(frozen=True)
class Say:
    """A sentence the session wants spoken."""

    text: str
    t: float
    kind: str = "say"
    """'say' for narration, 'count' for a spoken repetition number, 'cue' for a stroke cue, 'hint'."""
    rate_scale: float = 1.0
    """Speech-rate multiplier from the tempo (1.0 = the pack's rate)."""


@dataclass(frozen=True)
class Cue:
    """A non-speech sound: a chime at a step change or a tick per repetition."""

    sound: str
    t: float


@dataclass(frozen=True)
class StateChanged:
    """The session machine moved to another state."""

    state: str
    t: float
    detail: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Volume:
    """A request to the player: louder (+1) or quieter (-1) by one step."""

    change: int
    t: float


@dataclass(frozen=True)
class Silence:
    """Stop sounding at once (pause, stop, a jump away from a sentence): cut what is playing."""

    t: float


__all__ += ["Volume", "Silence"]
