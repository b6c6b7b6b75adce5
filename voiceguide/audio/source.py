"""Where the recognizer's audio comes from: the microphone or a WAV file, always as 16 kHz mono int16 chunks.

The microphone's audio callback only copies a block into a bounded queue (never blocking, overflows
counted); resampling with soxr happens on the reader's thread. A WAV file can be paced in real time or
read as fast as possible; its chunks carry their audio position, so a virtual clock can follow the file.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from voiceguide.audio.clip import read_wav, resample, to_int16
from voiceguide.audio.devices import DeviceInfo, find_device, import_sounddevice, open_stream, supported_rate
from voiceguide.audio.watchdog import PORTAUDIO_EXIT, DeviceWatchdog, PortAudioExit, close_aside
from voiceguide.core.events import DeviceStatus
from voiceguide.core.sound import SAMPLE_RATE

__all__ = [
    "AudioChunk",
    "AudioSource",
    "DeviceStatus",
    "MicSettings",
    "MicSource",
    "WavFileSource",
    "PortAudioExit",
    "PORTAUDIO_EXIT",
]

_LOGGER = logging.getLogger(__name__)

"""What every source delivers and every recognizer takes."""


@dataclass(frozen=True)
class AudioChunk:
    """A stretch of 16 kHz mono int16 audio and where it sits in the stream."""

    samples: np.ndarray
    start: float
    """Seconds of stream audio before this chunk (the stream's own timeline, no gaps)."""
    captured_at: float | None = None
    """Clock time of the first sample, for a live source (lines up with the Player's notices)."""

    @property
    def duration(self) -> float:
        """Seconds of audio in the chunk."""
        return len(self.samples) / SAMPLE_RATE

    @property
    def end(self) -> float:
        """Stream position just after the chunk."""
        return self.start + self.duration


@runtime_checkable
class AudioSource(Protocol):
    """16 kHz mono int16 audio for a recognizer, read on the recognizer's own thread."""

    sample_rate: int

    def read(self, timeout: float | None = None) -> AudioChunk | None:
        """The next chunk; None if nothing came within `timeout` or the source has ended."""
        ...

    @property
    def ended(self) -> bool:
        """True once no more audio will come (file finished, source closed)."""
        ...

    @property
    def position(self) -> float:
        """Seconds of audio delivered so far."""
        ...

    def clock_time(self, stream_seconds: float) -> float:
        """The clock time at which a stream position was captured (to compare Heard times with Player notices)."""
        ...

    def stream_time(self, clock_time: float) -> float:
        """The stream position captured at a clock time (a Player notice on the recognizer's timeline)."""
        ...

    def close(self) -> None:
        """Stop; a blocked `read` returns None."""
        ...


def _chunks(source: AudioSource, timeout: float) -> Iterator[AudioChunk]:
    while not source.ended:
        chunk = source.read(timeout)
        if chunk is not None:
            yield chunk


class WavFileSource:
    """A WAV file as a microphone: any rate or channels in, 16 kHz mono chunks out, paced or fast."""

    sample_rate = SAMPLE_RATE

    def __init__(
        self,
        path: str | Path,
        *,
        fast: bool = False,
        chunk_seconds: float = 0.02,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        clip = read_wav(path)
        self.path = Path(path)
        self.fast = fast
        self._audio = to_int16(resample(clip.samples, clip.sample_rate, SAMPLE_RATE))
        self._chunk = max(1, int(chunk_seconds * SAMPLE_RATE))
        self._pos = 0
        self._clock = clock
        self._t0: float | None = None
        self._closed = threading.Event()

    @property
    def duration(self) -> float:
        """Seconds of audio in the file."""
        return len(self._audio) / SAMPLE_RATE

    @property
    def position(self) -> float:
        """Seconds of audio delivered so far: the time a virtual clock should show."""
        return self._pos / SAMPLE_RATE

    @property
    def ended(self) -> bool:
        """True after the last chunk (or after close)."""
        return self._closed.is_set() or self._pos >= len(self._audio)

    def read(self, timeout: float | None = None) -> AudioChunk | None:
        """The next chunk; paced, it is released when its last sample would have been spoken."""
        if self.ended:
            return None
        n = min(self._chunk, len(self._audio) - self._pos)
        if not self.fast:
            if self._t0 is None:
                self._t0 = self._clock()
            due = self._t0 + (self._pos + n) / SAMPLE_RATE
            wait = due - self._clock()
            if wait > 0:
                if timeout is not None and wait > timeout:
                    self._closed.wait(timeout)
                    return None
                if self._closed.wait(wait):
                    return None
        start = self._pos / SAMPLE_RATE
        samples = self._audio[self._pos : self._pos + n]
        self._pos += n
        captured = None if self.fast or self._t0 is None else self._t0 + start
        return AudioChunk(samples, start, captured)

    def clock_time(self, stream_seconds: float) -> float:
        """Paced: when that audio was "spoken" on the clock; fast: the position itself (a virtual clock follows it)."""
        if self.fast or self._t0 is None:
            return stream_seconds
        return self._t0 + stream_seconds

    def stream_time(self, clock_time: float) -> float:
        """The inverse of `clock_time`."""
        if self.fast or self._t0 is None:
            return clock_time
        return clock_time - self._t0

    def __iter__(self) -> Iterator[AudioChunk]:
        return _chunks(self, 0.5)

    def close(self) -> None:
        """Stop delivering."""
        self._closed.set()


@dataclass(frozen=True)
class MicSettings:
    """How the microphone is opened and watched."""

    device: str | int | None = None
    """Input device name or index; None: the default input."""
    sample_rate: int | None = None
    """Capture rate; None: the device's own default rate (USB mics often offer only 44.1 or 48 kHz)."""
    block_seconds: float = 0.02
    """Audio callback period."""
    queue_seconds: float = 5.0
    """Audio the queue holds before blocks are dropped (and counted as overflows)."""
    latency: str | float = "low"
    """PortAudio's suggested input latency."""
    channels: int | None = None
    """Capture channels (averaged to mono); None: mono, or stereo where a device refuses mono."""
    stall_seconds: float = 3.0
    """No audio for this long means the device is gone."""
    retry_seconds: float = 1.0
    """First pause between attempts to reopen a lost device; it grows ×1.5 up to `max_retry_seconds`."""
    max_retry_seconds: float = 5.0
    """Longest pause between attempts (each failed attempt makes PortAudio print a few lines)."""


class MicSource:
    """The microphone: an InputStream at the device's rate → soxr → 16 kHz int16, watched for disappearance."""

    sample_rate = SAMPLE_RATE

    def __init__(
        self,
        settings: MicSettings = MicSettings(),
        *,
        on_status: Callable[[DeviceStatus], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._sd = import_sounddevice()
        PORTAUDIO_EXIT.install(self._sd)
        self._clock = clock
        self._on_status = on_status
        self.device: DeviceInfo = find_device(settings.device, "input")
        self.device_rate = supported_rate(self.device, "input", settings.sample_rate)
        self._block = max(16, int(self.device_rate * settings.block_seconds))
        maxsize = max(4, int(settings.queue_seconds / settings.block_seconds))
        self._queue: queue.Queue[tuple[np.ndarray, float] | None] = queue.Queue(maxsize=maxsize)
        self.overflows = 0
        """Blocks dropped because the reader fell behind (the queue was full)."""
        self.input_overflows = 0
        """Blocks PortAudio reported as overrun at the device."""
        self.retries = 0
        """Failed attempts to reopen it."""
        self._delivered = 0
        self._offset: float | None = None
        self._resampler: Any = None
        self._closed = threading.Event()
        self._last_audio = time.monotonic()
        self._stream: Any = None
        self._open()
        self._watchdog = DeviceWatchdog(
            "microphone", active=lambda: self._stream is not None and bool(self._stream.active),
            last_activity=lambda: self._last_audio, reopen=self._open, drop=self._close_stream, report=self._report,
            closed=self._closed, stall_seconds=settings.stall_seconds, retry_seconds=settings.retry_seconds,
            max_retry_seconds=settings.max_retry_seconds,
            messages=("no audio from the microphone; retrying", "listening again"))

    # ---- the stream ----------------------------------------------------------------------------
    def _open(self) -> None:
        sd = self._sd
        stream, _ = open_stream(sd, self.device, "input", self.settings.channels, samplerate=self.device_rate,
                                blocksize=self._block, latency=self.settings.latency, callback=self._callback)
        self._stream = stream
        self._last_audio = time.monotonic()
        _LOGGER.info("microphone: %s at %d Hz → %d Hz", self.device.name, self.device_rate, SAMPLE_RATE)

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """Copy and hand over; never block, never resample here."""
        now = self._clock()
        self._last_audio = time.monotonic()
        if status and getattr(status, "input_overflow", False):
            self.input_overflows += 1
        try:
            delay = float(time_info.currentTime - time_info.inputBufferAdcTime)
            if not 0.0 <= delay < 1.0:
                delay = 0.0
        except (AttributeError, TypeError):
            delay = 0.0
        try:
            block = indata[:, 0].copy() if indata.shape[1] == 1 else indata.mean(axis=1, dtype=np.float32)
            self._queue.put_nowait((block, now - delay))
        except queue.Full:
            self.overflows += 1
            if self.overflows in (1, 10, 100) or self.overflows % 1000 == 0:
                _LOGGER.warning("microphone queue full: %d blocks dropped so far", self.overflows)

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:  # closing a stream whose server died can block: aside, with a time limit
            close_aside(stream, f"microphone {self.device.name}")

    # ---- disappearance and return ---------------------------------------------------------------
    def _report(self, state: str, message: str) -> None:
        if state == "retrying":  # every second while unplugged: keep it out of the user's way
            self.retries += 1
            _LOGGER.debug("microphone %s: still gone (%s)", self.device.name, message)
            return
        log = _LOGGER.warning if state == "lost" else _LOGGER.info
        log("microphone %s: %s (%s)", self.device.name, state, message)
        if self._on_status is not None:
            try:
                self._on_status(DeviceStatus(state, self.device.name, message))
            except Exception:
                _LOGGER.exception("microphone status listener failed")

    @property
    def lost(self) -> bool:
        """Whether the device is gone right now."""
        return self._watchdog.lost

    @property
    def losses(self) -> int:
        """Times the device disappeared."""
        return self._watchdog.losses

    # ---- the reader's side ---------------------------------------------------------------------
    @property
    def position(self) -> float:
        """Seconds of 16 kHz audio delivered so far."""
        return self._delivered / SAMPLE_RATE

    @property
    def ended(self) -> bool:
        """True once closed."""
        return self._closed.is_set()

    def read(self, timeout: float | None = None) -> AudioChunk | None:
        """The next chunk at 16 kHz (resampled here, on the reader's thread)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if self._closed.is_set():
                return None
            try:
                item = self._queue.get(timeout=remaining if remaining is not None else 0.25)
            except queue.Empty:
                if deadline is not None:
                    return None
                continue
            if item is None:
                return None
            block, captured = item
            out = self._resample(block)
            if out.size == 0:
                continue
            chunk = AudioChunk(to_int16(out), self._delivered / SAMPLE_RATE, captured)
            self._delivered += len(out)
            self._offset = captured - chunk.start
            return chunk

    def skip_pending(self) -> None:
        """Drop what is queued but unread (the reader was away, e.g. restarting a failed recognizer)."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is None:  # closed meanwhile: a waiting reader must still see the end
                self._queue.put_nowait(None)
                return
            self._resample(item[0])  # keeps the resampler's stream continuous; the audio is dropped

    def clock_time(self, stream_seconds: float) -> float:
        """When that stream position was captured, on this source's clock (from the latest chunk read)."""
        if self._offset is None:
            return self._clock() - (self.position - stream_seconds)
        return self._offset + stream_seconds

    def stream_time(self, clock_time: float) -> float:
        """The inverse of `clock_time`.

        E.g. `guard.playing(n.text, mic.stream_time(n.start), mic.stream_time(n.end))`.
        """
        return clock_time - self.clock_time(0.0)

    def _resample(self, block: np.ndarray) -> np.ndarray:
        if self.device_rate == SAMPLE_RATE:
            return block
        if self._resampler is None:
            import soxr

            self._resampler = soxr.ResampleStream(self.device_rate, SAMPLE_RATE, 1, dtype="float32")
        return np.asarray(self._resampler.resample_chunk(block), dtype=np.float32)

    def __iter__(self) -> Iterator[AudioChunk]:
        return _chunks(self, 0.5)

    def close(self) -> None:
        """Stop listening; a waiting `read` returns None."""
        self._closed.set()
        self._watchdog.join()
        self._close_stream()
        while True:  # what was not read is dropped; a waiting reader wakes up with None
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._queue.put_nowait(None)
        if self.overflows:
            _LOGGER.warning("microphone: %d blocks were dropped (the reader fell behind)", self.overflows)

    def __enter__(self) -> MicSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
