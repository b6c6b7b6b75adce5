"""A stand-in for the player where there is no sound: speech 'ends' after the time it would take."""

from __future__ import annotations

from collections.abc import Callable

from voiceguide.core.events import Say, Silence
from voiceguide.session.clock import Clock, Timer
from voiceguide.session.conductor import Output
from voiceguide.session.ledger import NarrationLedger
from voiceguide.session.narration import speech_seconds

__all__ = ["EstimatedSpeech"]


class EstimatedSpeech:
    """Each sentence ends after its estimated duration (words ÷ pack rate × tempo); Silence cuts.

    What counts as done is the real speaker's rule (`NarrationLedger`): only the timing is estimated.
    """

    def __init__(self, clock: Clock, rate_wpm: float, done: Callable[[Say], object]) -> None:
        self._clock = clock
        self._rate = rate_wpm
        self._ledger = NarrationLedger(done)
        self._timers: list[Timer] = []

    def __call__(self, event: Output) -> None:
        """Feed every output event; only Say and Silence matter here."""
        if isinstance(event, Say):
            seconds = speech_seconds(event.text, self._rate * event.rate_scale)
            self._timers = [t for t in self._timers if not t.cancelled and t.when > self._clock.now()]
            key = object()
            self._timers.append(self._clock.call_later(seconds, lambda: self._ledger.ended(key)))
            self._ledger.handed(event, key)
        elif isinstance(event, Silence):
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()
            self._ledger.cut()
