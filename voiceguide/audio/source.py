"""Where the recognizer's audio comes from: the microphone or a WAV file, always as 16 kHz mono int16 chunks.

The microphone's audio callback only copies a block into a bounded queue (never blocking, overflows
counted); resampling with soxr happens on the reader's thread. A WAV file can be paced in real time or
read as fast as possible; its chunks carry their audio position, so a virtual clock can follow the file.
"""

from __future__ import annotations

import atexit
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
from voiceguide.audio.devices import DeviceError, DeviceInfo, DeviceStatus, find_device, import_sounddevice, open_stream, native_noise_filtered, supported_rate

__all__ = [
    "SAMPLE_RATE",
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

SAMPLE_RATE = 16000
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
        self.losses = 0
        """Times the device disappeared."""
        self.retries = 0
        """Failed attempts to reopen it."""
        self._delivered = 0
        self._offset: float | None = None
        self._resampler: Any = None
        self._closed = threading.Event()
        self._last_audio = time.monotonic()
        self._lost = False
        self._stream: Any = None
        self._open()
        self._watchdog = threading.Thread(target=self._watch, daemon=True, name="mic-watchdog")
        self._watchdog.start()

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
        if stream is None:
            return
        # closing a stream whose server died can block; do it aside so the watchdog stays responsive
        closer = threading.Thread(target=self._quiet_close, args=(stream,), daemon=True, name="mic-close")
        closer.start()
        closer.join(timeout=2.0)
        if closer.is_alive():
            PORTAUDIO_EXIT.stuck_close(f"microphone {self.device.name}")

    def _quiet_close(self, stream: Any) -> None:
        try:
            stream.abort()
            stream.close()
        except Exception as exc:  # noqa: BLE001 - a dead device may fail in any way here
            _LOGGER.debug("closing the lost microphone stream: %s", exc)

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

    def _healthy(self) -> bool:
        stream = self._stream
        if stream is None:
            return False
        try:
            active = bool(stream.active)
        except Exception:  # noqa: BLE001
            active = False
        return active and time.monotonic() - self._last_audio < self.settings.stall_seconds

    def _watch(self) -> None:
        period = min(0.1, self.settings.stall_seconds / 4)
        while not self._closed.wait(period):
            if self._healthy():
                continue
            self.losses += 1
            self._lost = True
            self._report("lost", "no audio from the microphone; retrying")
            self._close_stream()
            wait = self.settings.retry_seconds
            while not self._closed.wait(wait):
                wait = min(self.settings.max_retry_seconds, wait * 1.5)
                try:
                    with native_noise_filtered():
                        self._open()
                except DeviceError as exc:
                    self._report("retrying", str(exc))
                    continue
                # opened: wait for real audio before calling it back
                deadline = time.monotonic() + self.settings.stall_seconds
                opened_at = time.monotonic()
                while time.monotonic() < deadline and self._last_audio <= opened_at and not self._closed.is_set():
                    time.sleep(0.02)
                if self._last_audio > opened_at:
                    self._lost = False
                    self._report("restored", "listening again")
                    break
                self._close_stream()
                self._report("retrying", "the device opened but gave no audio")

    @property
    def lost(self) -> bool:
        """Whether the device is gone right now."""
        return self._lost

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

    def clock_time(self, stream_seconds: float) -> float:
        """When that stream position was captured, on this source's clock (from the latest chunk read)."""
        if self._offset is None:
            return self._clock() - (self.position - stream_seconds)
        return self._offset + stream_seconds

    def stream_time(self, clock_time: float) -> float:
        """The inverse of `clock_time`: e.g. `guard.playing(n.text, mic.stream_time(n.start), mic.stream_time(n.end))`."""
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
        self._watchdog.join(timeout=3)
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
