"""Listening that outlives its failures: under systemd nobody can restart a deaf session, so it restarts itself.

A recognizer or microphone error is logged with its traceback and reported; after a growing pause (1, 2,
4… s up to 30 s) a fresh recognizer is built and listening goes on. Building it may fail too (a model
gone bad): that is one more failure, and the pause grows.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from voiceguide.runtime.retry import Backoff

__all__ = ["keep_listening"]

_LOGGER = logging.getLogger(__name__)


def keep_listening(
    restart: Callable[[], None],
    listen: Callable[[], None],
    stopping: threading.Event,
    failed: Callable[[Exception, float, bool], None],
    back: Callable[[], None],
    backoff: Backoff | None = None,
) -> None:
    """`listen()` until `stopping`; when it raises: `failed(exc, pause, again)`, the pause, `restart()`, `back()`.

    `listen` returns only once `stopping` is set; `restart` builds what failed afresh (a new recognizer);
    `again` is true while it has not yet been back since the last failure (say it once, not at every retry).
    """
    backoff = backoff or Backoff()
    failing = False
    while not stopping.is_set():
        try:
            if failing:
                restart()
                failing = False
                _LOGGER.warning("listening again")
                back()
            listen()
        except Exception as exc:  # noqa: BLE001 - whatever it was, going deaf for good is worse
            pause = backoff.next()
            _LOGGER.exception("listening failed; listening again in %.0f s", pause)
            again, failing = failing, True
            try:
                failed(exc, pause, again)
            except Exception:  # noqa: BLE001 - reporting must not end the loop it reports on
                _LOGGER.exception("reporting the listening failure failed")
            stopping.wait(pause)
