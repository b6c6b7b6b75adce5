"""Time for the session: beats and timeouts are scheduled on a Clock, so tests and `simulate` run instantly."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["Clock", "Timer", "RealClock", "VirtualClock"]

_LOGGER = logging.getLogger(__name__)

Callback = Callable[[], object]


class Timer:
    """A scheduled callback that can be cancelled before it runs."""

    __slots__ = ("when", "callback", "cancelled")

    def __init__(self, when: float, callback: Callback) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        """Make sure the callback never runs (harmless after it ran)."""
        self.cancelled = True


class Clock(Protocol):
    """What the session needs from time: the current time and callbacks scheduled on it."""

    def now(self) -> float:
        """Seconds since the clock started."""
        ...

    def call_at(self, when: float, callback: Callback) -> Timer:
        """Run a callback at a clock time (at once when it is already past)."""
        ...

    def call_later(self, delay: float, callback: Callback) -> Timer:
        """Run a callback after a delay in seconds."""
        ...


class _Schedule:
    """A heap of timers ordered by time, then by the order they were added."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()

    def push(self, timer: Timer) -> None:
        heapq.heappush(self._heap, (timer.when, next(self._seq), timer))

    def next_time(self) -> float | None:
        """Time of the earliest live timer, dropping cancelled ones."""
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> Timer | None:
        """The earliest live timer due at `now`, removed from the heap."""
        when = self.next_time()
        if when is None or when > now:
            return None
        return heapq.heappop(self._heap)[2]

    def __len__(self) -> int:
        return sum(1 for _, _, t in self._heap if not t.cancelled)


class VirtualClock:
    """A clock whose time moves only when told: whole routines run in milliseconds."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._schedule = _Schedule()

    def now(self) -> float:
        """The virtual time."""
        return self._now

    def call_at(self, when: float, callback: Callback) -> Timer:
        """Schedule at a virtual time (never earlier than now)."""
        timer = Timer(max(when, self._now), callback)
        self._schedule.push(timer)
        return timer

    def call_later(self, delay: float, callback: Callback) -> Timer:
        """Schedule after a virtual delay."""
        return self.call_at(self._now + max(0.0, delay), callback)

    def post(self, callback: Callback) -> Timer:
        """Run a callback as soon as the clock runs, after what is already due now."""
        return self.call_at(self._now, callback)

    def pending(self) -> int:
        """How many live timers wait."""
        return len(self._schedule)

    def next_time(self) -> float | None:
        """When the next live timer is due, if any."""
        return self._schedule.next_time()

    def advance_to(self, when: float) -> None:
        """Run every timer due up to `when`, in order, then stand at `when`."""
        while True:
            timer = self._schedule.pop_due(when)
            if timer is None:
                break
            self._now = max(self._now, timer.when)
            timer.callback()
        self._now = max(self._now, when)

    def advance(self, seconds: float) -> None:
        """Move time forward by some seconds, running what falls due."""
        self.advance_to(self._now + seconds)

    def step(self) -> bool:
        """Run the next live timer (moving time to it); False when none is left."""
        when = self._schedule.next_time()
        if when is None:
            return False
        timer = self._schedule.pop_due(when)
        assert timer is not None
        self._now = max(self._now, timer.when)
        timer.callback()
        return True

    def run(self, until: Callable[[], bool] | None = None, limit: float = 86_400.0) -> None:
        """Run timers one by one until none are left, `until()` is true, or the next is past `limit`."""
        while until is None or not until():
            when = self._schedule.next_time()
            if when is None or when > limit:
                return
            self.step()


class RealClock:
    """Wall time (monotonic), optionally sped up; callbacks run on the thread that calls `run`."""

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._speed = speed
        self._start = time.monotonic()
        self._schedule = _Schedule()
        self._cond = threading.Condition()
        self._stopped = False

    def now(self) -> float:
        """Seconds since the clock was made, times the speed."""
        return (time.monotonic() - self._start) * self._speed

    def call_at(self, when: float, callback: Callback) -> Timer:
        """Schedule at a clock time; safe to call from any thread."""
        timer = Timer(when, callback)
        with self._cond:
            self._schedule.push(timer)
            self._cond.notify()
        return timer

    def call_later(self, delay: float, callback: Callback) -> Timer:
        """Schedule after a delay in clock seconds."""
        return self.call_at(self.now() + max(0.0, delay), callback)

    def post(self, callback: Callback) -> Timer:
        """Hand a callback to the clock's thread (how other threads talk to the session)."""
        return self.call_at(self.now(), callback)

    def stop(self) -> None:
        """Make `run` return; safe from any thread."""
        with self._cond:
            self._stopped = True
            self._cond.notify()

    def run(self, until: Callable[[], bool] | None = None) -> None:
        """Run callbacks as they fall due until `stop()` or `until()` is true."""
        while True:
            with self._cond:
                if self._stopped or (until is not None and until()):
                    return
                when = self._schedule.next_time()
                now = self.now()
                if when is None or when > now:
                    wait = None if when is None else (when - now) / self._speed
                    self._cond.wait(timeout=wait if wait is None else max(wait, 0.0))
                    continue
                timer = self._schedule.pop_due(now)
            if timer is not None:
                try:
                    timer.callback()
                except Exception:
                    _LOGGER.exception("a clock callback failed")
                    raise
