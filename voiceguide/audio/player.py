"""The speaker: one sounddevice OutputStream plays narration, counts and cues, watched for disappearance.

It shares the `Mixer` controls with the WAV sink (wav_sink.py), so stop, pause, volume and the "now playing"
notices behave the same; notices go to subscribers from an ordinary thread, never from the audio callback.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from voiceguide.audio.clip import Clip
from voiceguide.audio.devices import DeviceError, find_device, import_sounddevice, open_stream, supported_rate
from voiceguide.audio.mixer import DEFAULT_VOLUME, Mixer, Playback
from voiceguide.audio.sink import AudioSink, Listener, MixerControls, Notifier
from voiceguide.audio.watchdog import DeviceWatchdog, close_aside
from voiceguide.audio.wav_sink import WavSink
from voiceguide.core.events import DeviceStatus, NowPlaying

__all__ = ["AudioSink", "Listener", "Player", "PlayerSettings", "RenderTap", "WavSink", "NowPlaying", "Playback"]

_LOGGER = logging.getLogger(__name__)


class RenderTap:
    """What the speaker actually played, block by block, for the echo canceller; the audio callback never waits on it.

    A bounded deque (appends and pops are atomic): when nobody drains it, the oldest blocks go (counted).
    """

    def __init__(self, sample_rate: int, max_blocks: int) -> None:
        self.sample_rate = sample_rate
        self._blocks: deque[tuple[np.ndarray, float | None]] = deque(maxlen=max(1, max_blocks))
        self.dropped = 0
        """Blocks pushed out unread."""

    def put(self, block: np.ndarray, at: float | None) -> None:
        """From the audio callback: one block as written (mono, after volume); `at`: clock time of its first sample."""
        if len(self._blocks) == self._blocks.maxlen:
            self.dropped += 1
        self._blocks.append((block, at))

    def drain(self) -> list[tuple[np.ndarray, float | None]]:
        """Every block put since the last call, oldest first."""
        out = []
        while True:
            try:
                out.append(self._blocks.popleft())
            except IndexError:
                return out


@dataclass(frozen=True)
class PlayerSettings:
    """How the speaker is opened."""

    device: str | int | None = None
    """Output device name or index; None: the default output."""
    sample_rate: int | None = None
    """Output rate; None: the device's own default rate."""
    block_seconds: float = 0.010
    """Audio callback period: a stop takes effect at the next block."""
    latency: str | float = "low"
    """PortAudio's suggested latency ('low', 'high' or seconds): sound already in the buffer still plays."""
    channels: int | None = None
    """Output channels (the mono mix goes to each); None: mono, or stereo where a device refuses mono."""
    volume: float = DEFAULT_VOLUME
    """Starting volume, 0 to 1."""
    stall_seconds: float = 3.0
    """No callback for this long (or a stream that stopped by itself) means the device is gone."""
    retry_seconds: float = 1.0
    """First pause between attempts to reopen a lost device; it grows ×1.5 up to `max_retry_seconds`."""
    max_retry_seconds: float = 5.0
    """Longest pause between attempts (each failed attempt makes PortAudio print a few lines)."""
    error_log_seconds: float = 10.0
    """Audio callback errors after the first (logged whole) are logged as a count at most this often."""


class Player(MixerControls):
    """The speaker: one OutputStream, opened at start and kept until close; silent blocks when idle."""

    def __init__(
        self,
        settings: PlayerSettings = PlayerSettings(),
        clock: Callable[[], float] = time.monotonic,
        *,
        on_status: Callable[[DeviceStatus], None] | None = None,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._on_status = on_status
        sd = import_sounddevice()
        self._sd = sd
        self.device = find_device(settings.device, "output")
        self.sample_rate = supported_rate(self.device, "output", settings.sample_rate)
        self._mixer = Mixer(self.sample_rate, volume=settings.volume)
        self._notifier = Notifier(threaded=True)
        self.underflows = 0
        """Blocks PortAudio reported as late (a crackle)."""
        self.errors = 0
        """Exceptions inside the audio callback (each gives one silent block; logged by `_log_errors`)."""
        self._first_error: BaseException | None = None
        self._logged_errors = 0
        self._errors_logged_at = 0.0
        self._idle = threading.Event()
        self._idle.set()
        self._closed = threading.Event()
        self._last_callback = time.monotonic()
        self._stream: Any = None
        self._taps: list[RenderTap] = []
        self._duck = 1.0
        self._duck_gain = 1.0
        try:
            self._open()
        except DeviceError:
            self._notifier.close()
            raise
        self._watchdog = DeviceWatchdog(
            "speaker", active=lambda: self._stream is not None and bool(self._stream.active),
            last_activity=lambda: self._last_callback, reopen=self._open, drop=self._drop_stream, report=self._report,
            closed=self._closed, stall_seconds=settings.stall_seconds, retry_seconds=settings.retry_seconds,
            max_retry_seconds=settings.max_retry_seconds, on_lost=self._silence_lost, tick=self._log_errors,
            messages=("the speaker stopped; retrying", "playing again"))

    def _open(self) -> None:
        sd = self._sd
        blocksize = max(16, int(self.sample_rate * self.settings.block_seconds))
        stream, _ = open_stream(sd, self.device, "output", self.settings.channels, samplerate=self.sample_rate,
                                blocksize=blocksize, latency=self.settings.latency, callback=self._callback)
        self._stream = stream
        self._last_callback = time.monotonic()
        _LOGGER.info(
            "speaker: %s at %d Hz, %d-sample blocks, %.1f ms output latency",
            self.device.name, self.sample_rate, blocksize, stream.latency * 1000,
        )

    # ---- disappearance and return ---------------------------------------------------------------
    def _report(self, state: str, message: str) -> None:
        if state == "retrying":  # every second or so while unplugged: keep it out of the user's way
            _LOGGER.debug("speaker %s: still gone (%s)", self.device.name, message)
            return
        (_LOGGER.warning if state == "lost" else _LOGGER.info)("speaker %s: %s (%s)", self.device.name, state, message)
        if self._on_status is not None:
            try:
                self._on_status(DeviceStatus(state, self.device.name, message, "output"))
            except Exception:
                _LOGGER.exception("speaker status listener failed")

    def _drop_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            close_aside(stream, f"speaker {self.device.name}")

    def _silence_lost(self) -> None:
        """What was queued cannot be heard: drop it, and say so to the listeners (narration_done…)."""
        self._mixer.stop()
        _, notices = self._mixer.render(1, self._clock())
        for notice in notices:
            self._notifier.send(notice)
        self._idle.set()

    def _log_errors(self) -> None:
        """On the watchdog's thread, never in the callback: the first error whole, then a count now and then."""
        errors, first, every = self.errors, self._first_error, self.settings.error_log_seconds
        if errors == self._logged_errors:
            return
        if self._logged_errors == 0 and first is not None:
            _LOGGER.error("speaker: the audio callback failed (a silent block)", exc_info=first)
        elif time.monotonic() - self._errors_logged_at >= every or self._closed.is_set():
            _LOGGER.error("speaker: %d more audio callback errors (%d in all), each a silent block",
                          errors - self._logged_errors, errors)
        else:
            return
        self._logged_errors, self._errors_logged_at = errors, time.monotonic()

    @property
    def lost(self) -> bool:
        """Whether the device is gone right now."""
        return self._watchdog.lost

    @property
    def losses(self) -> int:
        """Times the device disappeared."""
        return self._watchdog.losses

    @property
    def latency(self) -> float:
        """Seconds from a block leaving the callback to the speaker (as PortAudio reports it)."""
        stream = self._stream
        return float(stream.latency) if stream is not None else 0.0

    def _callback(self, outdata: np.ndarray, frames: int, time_info: object, status: object) -> None:
        self._last_callback = time.monotonic()
        if status and getattr(status, "output_underflow", False):
            self.underflows += 1
        try:
            delay = float(time_info.outputBufferDacTime - time_info.currentTime)  # type: ignore[attr-defined]
            if not 0.0 <= delay < 1.0:
                delay = self.latency
            at = self._clock() + delay
            samples, notices = self._mixer.render(frames, at)
            samples = self._ducked(samples)
            outdata[:] = samples[:, None]  # the mono mix on every channel
            for tap in self._taps:
                tap.put(samples, at)
            for notice in notices:
                self._notifier.send(notice)
            if not self._mixer.busy:
                self._idle.set()
        except Exception as exc:  # never let the callback die (that would stop the stream); logged aside
            if self._first_error is None:
                self._first_error = exc
            self.errors += 1
            outdata.fill(0)

    def play(self, clip: Clip, overlay: bool = False) -> Playback:
        """Queue a clip; `wait_idle` waits for it."""
        item = super().play(clip, overlay)
        if not item.done.is_set():
            self._idle.clear()
        return item

    def duck(self, gain: float) -> None:
        """Scale what plays by `gain` on top of the volume (1: not ducked): the person talks over the narration."""
        self._duck = float(np.clip(gain, 0.0, 1.0))

    def _ducked(self, samples: np.ndarray) -> np.ndarray:
        """The block with the duck gain applied, ramped over the block when it changes (no click)."""
        target, gain = self._duck, self._duck_gain
        if target != gain:
            self._duck_gain = target
            return samples * np.linspace(gain, target, len(samples), dtype=np.float32)
        return samples if gain == 1.0 else samples * np.float32(gain)

    def tap(self, seconds: float = 2.0) -> RenderTap:
        """A new render tap: every block written to the device from now on (the echo canceller's reference)."""
        tap = RenderTap(self.sample_rate, int(seconds / self.settings.block_seconds) + 1)
        self._taps = [*self._taps, tap]  # the callback iterates the old list or the new one, never a changing one
        return tap

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until everything queued has played (or was stopped); False on timeout."""
        return self._idle.wait(timeout)

    def close(self) -> None:
        """Stop the stream and the notifier."""
        self._closed.set()
        self._watchdog.join()
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.stop()
                stream.close()
            except self._sd.PortAudioError as exc:
                _LOGGER.warning("closing the speaker: %s", exc)
        self._log_errors()  # the callback's last errors, now that it has stopped
        self._notifier.close()

    def __enter__(self) -> Player:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
