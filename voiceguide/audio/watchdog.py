"""One reconnect loop for the microphone and the speaker: a device that stops (unplugged, sound server gone) is
noticed, reopened with growing pauses, and reported lost and back, so both ends behave the same.

Closing a stream on a dead device can block in the sound library, so it is done aside with a time limit;
one that never returns is recorded, and PortAudio is then not shut down at exit (`PortAudioExit`).
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from voiceguide.audio.devices import DeviceError, native_noise_filtered

__all__ = ["PORTAUDIO_EXIT", "DeviceWatchdog", "PortAudioExit", "close_aside"]

_LOGGER = logging.getLogger(__name__)


class PortAudioExit:
    """PortAudio's shutdown at process exit, bounded: a stream stuck on a lost device must not hang the exit.

    When the sound server dies under an open stream, PulseAudio's ALSA plugin can deadlock the stream's
    callback thread; `abort()` then waits for that thread forever, and so does sounddevice's own atexit
    handler (`Pa_Terminate` closes every open stream). The process is ending anyway, so: no `Pa_Terminate`
    at all once a close is known to be stuck, and otherwise at most `timeout` seconds for it. One per
    process, like PortAudio itself.
    """

    def __init__(self, timeout: float = 3.0) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._sd: Any = None
        self.stuck: list[str] = []
        """What could not be closed (for the log): PortAudio is then not shut down at exit."""

    def install(self, sd: Any) -> None:
        """Put the bounded shutdown in place of sounddevice's own (once; later calls do nothing)."""
        with self._lock:
            if self._sd is not None or not hasattr(sd, "_exit_handler"):
                return
            self._sd = sd
        atexit.unregister(sd._exit_handler)
        atexit.register(self._at_exit)

    def stuck_close(self, what: str) -> None:
        """A stream's close did not return: never call into PortAudio's shutdown for this process."""
        with self._lock:
            self.stuck.append(what)
        _LOGGER.warning("%s: closing the lost stream is stuck in the sound library; it is left behind, "
                        "and PortAudio will not be shut down at exit", what)

    def _at_exit(self) -> None:
        with self._lock:
            sd, stuck = self._sd, list(self.stuck)
        if sd is None:
            return
        if stuck:
            _LOGGER.info("exit without shutting PortAudio down (stuck: %s)", ", ".join(stuck))
            return
        try:
            worker = threading.Thread(target=sd._exit_handler, daemon=True, name="portaudio-exit")
            worker.start()
        except RuntimeError:  # no new threads this late: leaving PortAudio up is harmless at exit
            return
        worker.join(self.timeout)
        if worker.is_alive():
            _LOGGER.warning("PortAudio did not shut down within %.0f s (a stream stuck on a lost device); "
                            "exiting without it", self.timeout)


PORTAUDIO_EXIT = PortAudioExit()
"""The process's one bounded PortAudio shutdown (PortAudio itself is one per process)."""


def close_aside(stream: Any, what: str, timeout: float = 2.0) -> None:
    """Abort and close a stream on another thread, waiting at most `timeout` s (a dead device may block)."""

    def close() -> None:
        try:
            stream.abort()
            stream.close()
        except Exception as exc:  # noqa: BLE001 - a dead device may fail in any way here
            _LOGGER.debug("closing the lost %s stream: %s", what, exc)

    closer = threading.Thread(target=close, daemon=True, name=f"{what}-close")
    closer.start()
    closer.join(timeout=timeout)
    if closer.is_alive():
        PORTAUDIO_EXIT.stuck_close(what)


class DeviceWatchdog:
    """Watches one stream on its own thread; when it stalls, reopens it (growing pauses) until sound flows again.

    `report(state, message)` hears "lost", "retrying" and "restored"; `tick()` runs every period, for work that
    must stay out of the audio callback (logging its errors).
    """

    def __init__(
        self,
        what: str,
        *,
        active: Callable[[], bool],
        last_activity: Callable[[], float],
        reopen: Callable[[], None],
        drop: Callable[[], None],
        report: Callable[[str, str], None],
        closed: threading.Event,
        stall_seconds: float = 3.0,
        retry_seconds: float = 1.0,
        max_retry_seconds: float = 5.0,
        on_lost: Callable[[], None] = lambda: None,
        tick: Callable[[], None] = lambda: None,
        messages: tuple[str, str] = ("stopped; retrying", "working again"),
    ) -> None:
        self.what = what
        self._active = active
        self._last_activity = last_activity
        self._reopen = reopen
        self._drop = drop
        self._report = report
        self._closed = closed
        self.stall_seconds = stall_seconds
        self.retry_seconds = retry_seconds
        """First pause between attempts to reopen; it grows ×1.5 up to `max_retry_seconds`."""
        self.max_retry_seconds = max_retry_seconds
        """Longest pause (each failed attempt makes PortAudio print a few lines)."""
        self._on_lost = on_lost
        self._tick = tick
        self._messages = messages
        """What "lost" and "restored" say."""
        self.losses = 0
        """Times the device disappeared."""
        self.lost = False
        """Whether it is gone right now."""
        self._thread = threading.Thread(target=self._watch, daemon=True, name=f"{what}-watchdog")
        self._thread.start()

    def healthy(self) -> bool:
        """The stream runs and its callback was called lately."""
        try:
            active = self._active()
        except Exception:  # noqa: BLE001 - a dead stream may fail in any way
            active = False
        return active and time.monotonic() - self._last_activity() < self.stall_seconds

    def _watch(self) -> None:
        period = min(0.1, self.stall_seconds / 4)
        while not self._closed.wait(period):
            self._tick()
            if self.healthy():
                continue
            self.losses += 1
            self.lost = True
            self._on_lost()
            self._report("lost", self._messages[0])
            self._drop()
            self._reconnect()
        self._tick()

    def _reconnect(self) -> None:
        wait = self.retry_seconds
        while not self._closed.wait(wait):
            wait = min(self.max_retry_seconds, wait * 1.5)
            try:
                with native_noise_filtered():
                    self._reopen()
            except DeviceError as exc:
                self._report("retrying", str(exc))
                continue
            opened_at = time.monotonic()  # opened: wait for real sound before calling it back
            deadline = opened_at + self.stall_seconds
            while time.monotonic() < deadline and self._last_activity() <= opened_at and not self._closed.is_set():
                time.sleep(0.02)
            if self.healthy() and self._last_activity() > opened_at:
                self.lost = False
                self._report("restored", self._messages[1])
                return
            self._drop()
            self._report("retrying", "the device opened but its stream did not run")

    def join(self, timeout: float = 3.0) -> None:
        """Wait for the thread to end after `closed` was set."""
        self._thread.join(timeout=timeout)
