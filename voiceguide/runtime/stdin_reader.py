"""One reader of standard input for the whole process, handing each typed line to whoever listens now.

A thread blocked reading stdin cannot be called off. With a reader per session, the one left behind by
serve's last session would take the next typed line and drop it, and the next session would never see it.
So there is one reader, started on first use; each session attaches while it runs and detaches after.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Iterable

__all__ = ["StdinReader", "stdin_reader"]

_LOGGER = logging.getLogger(__name__)

_Handler = tuple[Callable[[str], object], Callable[[], object] | None]


class StdinReader:
    """Reads `lines` (by default sys.stdin, looked up when reading starts) on one thread, for the current handler."""

    def __init__(self, lines: Iterable[str] | None = None) -> None:
        self._lines = lines
        self._lock = threading.Lock()
        self._handler: _Handler | None = None
        self._thread: threading.Thread | None = None
        self._ended = False

    def attach(
        self, on_line: Callable[[str], object], on_end: Callable[[], object] | None = None
    ) -> Callable[[], None]:
        """Lines go to `on_line` from now on (no longer to the previous handler); the returned call detaches.

        `on_end` is called when input ends (at once if it already has).
        """
        handler: _Handler = (on_line, on_end)
        with self._lock:
            self._handler = handler
            ended = self._ended
            if self._thread is None:
                self._thread = threading.Thread(target=self._read, name="stdin", daemon=True)
                self._thread.start()
        if ended and on_end is not None:
            on_end()

        def detach() -> None:
            with self._lock:
                if self._handler is handler:
                    self._handler = None

        return detach

    def _read(self) -> None:
        lines = self._lines if self._lines is not None else sys.stdin
        try:
            for line in lines:
                with self._lock:
                    handler = self._handler
                if handler is None:
                    _LOGGER.info("typed line ignored (no session is running): %r", line.strip())
                    continue
                try:
                    handler[0](line)
                except Exception:  # noqa: BLE001 - one bad line must not end typing for the process
                    _LOGGER.exception("a typed line could not be handled")
        except (OSError, ValueError) as exc:  # stdin closed or unreadable: as if it ended
            _LOGGER.info("standard input ended: %s", exc)
        with self._lock:
            self._ended = True
            handler = self._handler
        if handler is not None and handler[1] is not None:
            handler[1]()


_SHARED: StdinReader | None = None
_SHARED_LOCK = threading.Lock()


def stdin_reader() -> StdinReader:
    """The process's one reader of sys.stdin."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = StdinReader()
        return _SHARED
