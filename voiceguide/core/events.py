"""Typed events: one way (audio → Heard → CommandEvent → session → Say/Cue → speaker), and the back-channels.

The back-channels (NarrationDone, CommandsExpected, NowPlaying, DeviceStatus) go to the queue the runner owns
(runtime/runner.py), which hands each to its one owner; no part calls another part back.
"""

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
    seconded: bool = True
    """False when one model alone named the command (the keyword model sure enough without pocketsphinx): over the
    speaker with no echo canceller, such a command may be the speaker's own voice."""


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


__all__ += ["Volume", "Silence", "NarrationDone", "CommandsExpected", "NowPlaying", "DeviceStatus"]


# ---- back-channels ------------------------------------------------------------------------------

@dataclass(frozen=True)
class NarrationDone:
    """The speaker (or its stand-in) is done with a sentence: heard to its end, dropped, or unmakeable."""

    say: Say


@dataclass(frozen=True)
class CommandsExpected:
    """What the session listens for in its new state: the recognizer narrows its grammar to these."""

    commands: frozenset[Command]


@dataclass(frozen=True)
class NowPlaying:
    """What the speaker says and when: the echo guard drops words heard in [start, end]."""

    text: str
    kind: str
    start: float
    """Clock time of the clip's (or its resumed part's) first sample at the speaker."""
    end: float
    """Clock time of its last sample: predicted for 'started', actual for 'finished' and 'interrupted'."""
    state: str
    """'started', 'finished' (played to the end) or 'interrupted' (stopped or paused)."""
    id: int


@dataclass(frozen=True)
class DeviceStatus:
    """What happened to a device, for the run loop (pause the session, say so, resume)."""

    state: str
    """'lost' (gone; retrying in the background) or 'restored' (working again)."""
    device: str
    message: str = ""
    direction: str = "input"
    """'input' (the microphone) or 'output' (the speaker)."""
