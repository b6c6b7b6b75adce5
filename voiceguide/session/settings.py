"""Settings of the session engine, built once from the command line and passed in."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["SessionSettings"]


@dataclass(frozen=True)
class SessionSettings:
    """How the session paces itself and where it keeps its records."""

    tempo: float | None = None
    """Tempo to start at (None: the tempo this pack was last left at, else the pack's own)."""
    tempo_min: float = 0.5
    """Fastest tempo (stroke-time multiplier): 0.5 = strokes take half their time."""
    tempo_max: float = 2.0
    """Slowest tempo."""
    slower_factor: float = 1.25
    """`slower` multiplies the tempo by this; `faster` divides by it (× 0.8)."""
    hold_timeout: float | None = None
    """Release a hold step after this many seconds without 'next' or 'ready' (None: wait for the person)."""
    release_holds: bool = False
    """Dry runs: release each hold after its step's own `hold_seconds`, as the timeline counts it (unless
    `hold_timeout` is set)."""
    hold_reminder: float | None = 120.0
    """Seconds of quiet in a hold before a gentle reminder of how to go on (None: never); repeated at this interval."""
    hold_reminders: int = 3
    """At most this many reminders per hold: then it waits in silence."""
    confirm_timeout: float = 15.0
    """Seconds to wait for yes/no after 'stop' before carrying on."""
    start_delay: float = 0.0
    """Seconds between entering the strokes and the first count."""
    data_dir: Path | None = None
    """Where the history database lives (None: the user data dir)."""
    remember_tempo: bool = True
    """Start at the tempo of the last session with this pack, and save tempo changes."""
