"""A stand-in for the player where there is no sound: speech 'ends' after the time it would take."""

from __future__ import annotations

from collections.abc import Callable

from voiceguide.events import Say, Silence
from voiceguide.session.clock import Clock, Timer
from voiceguide.session.conductor import Output
from voiceguide.session.narration import speech_seconds

__all__ = ["EstimatedSpeech"]


class EstimatedSpeech:
    """Reports each sentence done after its estimated duration (words ÷ pack rate × tempo); Silence cuts."""

    def __init__(self, clock: Clock, rate_wpm: float, done: Callable[[Say], object]) -> None:
        self._clock = clock
        self._rate = rate_wpm
        self._done = done
        self._pending: list[Timer] = []

    def __call__(self, event: Output) -> None:
        """Feed every output event; only Say and Silence matter here."""
        if isinstance(event, Say):
            seconds = speech_seconds(event.text, self._rate * event.rate_scale)
            self._pending = [t for t in self._pending if not t.cancelled and t.when > self._clock.now()]
            self._pending.append(self._clock.call_later(seconds, lambda: self._done(event)))
        elif isinstance(event, Silence):
            for timer in self._pending:
                timer.cancel()
            self._pending.clear()
