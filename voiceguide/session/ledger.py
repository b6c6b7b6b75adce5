"""When a sentence counts as said: the one narration-done rule that the real speaker and `simulate` share.

A Say handed to an output is reported done once it is over — played to its end, ended by the output (a
beat overtaken by the next, a clip dropped unplayed) or impossible to make — so the session never waits for
a sentence nobody will finish. A Silence ends everything in flight unreported: the session asked for it and
waits for none of them. The output says what happened to each clip (`handed`, `ended`, `skipped`, `cut`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable

from voiceguide.core.events import Say

__all__ = ["NarrationLedger"]

_LOGGER = logging.getLogger(__name__)

_EARLY_LIMIT = 1000
"""How many ends reported before their Say was handed in are remembered (cues' ids land here too)."""


class NarrationLedger:
    """Says in flight at an output, by the output's key for them (a playback id, a timer); thread-safe.

    `done(say)` is called outside the lock, on the thread that reported the end (or the cut).
    """

    def __init__(self, done: Callable[[Say], object]) -> None:
        self._done = done
        self._lock = threading.Lock()
        self._pending: dict[Hashable, Say] = {}
        self._early: dict[Hashable, None] = {}
        """Keys whose end came before the Say was handed in (a short clip on a device), oldest first."""

    @property
    def pending(self) -> int:
        """How many sentences are still sounding or waiting to."""
        with self._lock:
            return len(self._pending)

    def handed(self, say: Say, key: Hashable) -> None:
        """The output took a Say under `key`; if its end was already reported, it is done now."""
        with self._lock:
            ended = key in self._early
            if ended:
                del self._early[key]
            else:
                self._pending[key] = say
        if ended:
            self._report(say)

    def ended(self, key: Hashable) -> None:
        """The output finished, cut or dropped what it made under `key` (unknown keys wait for `handed`)."""
        with self._lock:
            say = self._pending.pop(key, None)
            if say is None:
                self._early[key] = None
                if len(self._early) > _EARLY_LIMIT:  # cues' and others' ids: only the newest can matter
                    del self._early[next(iter(self._early))]
        if say is not None:
            self._report(say)

    def skipped(self, say: Say) -> None:
        """A Say the output could not make at all: said, as far as the session is concerned."""
        self._report(say)

    def cut(self) -> None:
        """Silence: everything in flight is over, and the session, which asked for it, is not told."""
        with self._lock:
            self._pending.clear()

    def _report(self, say: Say) -> None:
        _LOGGER.debug("narrated %r", say.text)
        self._done(say)
