"""Retry policy for the live loops: growing pauses between attempts, and a limit on failing again and again.

A device or recognizer that fails once should be tried again soon; one that fails every time should not be
hammered (each attempt logs), and one that fails fast forever must end the process so systemd restarts it
instead of the service spinning in place.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

__all__ = ["Backoff", "FailureWindow", "RepeatedFailure"]


class Backoff:
    """Pauses of first, 2×first, 4×first… up to `cap`; a failure after a quiet stretch starts over at `first`."""

    def __init__(self, first: float = 1.0, cap: float = 30.0, quiet: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.first = first
        self.cap = cap
        self.quiet = quiet
        """Seconds without a failure after which the next one is treated as the first."""
        self._clock = clock
        self._next = first
        self._last: float | None = None

    def next(self) -> float:
        """The pause before the next attempt, after a failure now."""
        now = self._clock()
        if self._last is not None and now - self._last > self.quiet:
            self._next = self.first
        self._last = now
        delay, self._next = self._next, min(self.cap, self._next * 2)
        return delay

    def reset(self) -> None:
        """Things work again: the next failure waits `first`."""
        self._next, self._last = self.first, None


class RepeatedFailure(RuntimeError):
    """The same loop failed `limit` times within its window: better to end the process than to spin."""


class FailureWindow:
    """Counts failures; the `limit`-th within `window` seconds raises RepeatedFailure."""

    def __init__(self, limit: int = 5, window: float = 600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._times: deque[float] = deque()

    def failed(self, what: str) -> None:
        """One more failure of `what`; raises RepeatedFailure when there have been too many lately."""
        now = self._clock()
        self._times.append(now)
        while self._times and now - self._times[0] > self.window:
            self._times.popleft()
        if len(self._times) >= self.limit:
            raise RepeatedFailure(f"{what} failed {len(self._times)} times within {self.window:.0f} s")

    def clear(self) -> None:
        """Things work again: forget the failures so far."""
        self._times.clear()
