"""The speaker: one sounddevice OutputStream plays narration, counts and cues; or a WAV file on a clock's timeline.

Both sinks share the `Mixer`, so stop, pause, volume and the "now playing" notices behave the same.
Notices go to subscribers from an ordinary thread, never from the audio callback.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import wave
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from voiceguide.audio.clip import AudioFileError, Clip, to_int16
from voiceguide.audio.devices import DeviceError, DeviceStatus, find_device, import_sounddevice, open_stream, native_noise_filtered, supported_rate
from voiceguide.audio.mixer import Mixer, NowPlaying, Playback

__all__ = ["AudioSink", "Listener", "Player", "PlayerSettings", "RenderTap", "WavSink", "NowPlaying", "Playback"]

_LOGGER = logging.getLogger(__name__)

Listener = Callable[[NowPlaying], None]


@runtime_checkable
class AudioSink(Protocol):
    """Where sound goes: the speaker or a WAV file. Everything the session asks of audio output."""

    sample_rate: int

    def play(self, clip: Clip, overlay: bool = False) -> Playback:
        """Queue a clip (any rate); an overlay (a tick) plays at once over narration."""
        ...

    def cancel(self, item: Playback) -> None:
        """Drop one clip (cut with a short fade if it is sounding)."""
        ...

    def stop(self) -> None:
        """Silence at once and drop everything queued."""
        ...

    def pause(self) -> None:
        """Silence at once, keeping the place."""
        ...

    def resume(self) -> None:
        """Continue where `pause` left off."""
        ...

    def louder(self) -> float:
        """One volume step up; the new volume."""
        ...

    def quieter(self) -> float:
        """One volume step down; the new volume."""
        ...

    @property
    def busy(self) -> bool:
        """Whether anything plays or waits to."""
        ...

    def subscribe(self, listener: Listener) -> None:
        """Be told what plays when (the echo guard, `narration_done`)."""
        ...

    def close(self) -> None:
        """Release the device or finish the file."""
        ...


class _Notifier:
    """Hands notices to listeners; `send` may be called from the audio callback (it never blocks)."""

    def __init__(self, threaded: bool) -> None:
        self._listeners: list[Listener] = []
        self._queue: queue.SimpleQueue[NowPlaying | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        if threaded:
            self._thread = threading.Thread(target=self._run, daemon=True, name="now-playing")
            self._thread.start()

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def send(self, notice: NowPlaying) -> None:
        if self._thread is None:
            self._deliver(notice)
        else:
            self._queue.put(notice)

    def _deliver(self, notice: NowPlaying) -> None:
        for listener in list(self._listeners):
            try:
                listener(notice)
            except Exception:  # a listener's bug must not silence the speaker
                _LOGGER.exception("now-playing listener failed")

    def _run(self) -> None:
        while (notice := self._queue.get()) is not None:
            self._deliver(notice)

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=2)


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


class _MixerControls:
    """Stop, pause, volume and "now playing" once for both sinks; `_at_now` brings a sink up to the present first."""

    _mixer: Mixer
    _notifier: _Notifier
    sample_rate: int

    def _at_now(self) -> AbstractContextManager[object]:
        """Held around every change to the mixer (a device sink is always at the present)."""
        return nullcontext()

    def play(self, clip: Clip, overlay: bool = False) -> Playback:
        """Queue a clip, resampled to the sink's rate here (never in an audio callback)."""
        with self._at_now():
            return self._mixer.add(clip.at_rate(self.sample_rate), overlay)

    def cancel(self, item: Playback) -> None:
        """Drop one clip (a count overtaken by the next beat)."""
        with self._at_now():
            self._mixer.cancel(item)

    def stop(self) -> None:
        """Silence from now on (within one block plus the device buffer), and drop the queue."""
        with self._at_now():
            self._mixer.stop()

    def pause(self) -> None:
        """Silence from now on, keeping the place."""
        with self._at_now():
            self._mixer.pause()

    def resume(self) -> None:
        """Continue where `pause` left off."""
        with self._at_now():
            self._mixer.resume()

    @property
    def paused(self) -> bool:
        """Whether paused."""
        return self._mixer.paused

    @property
    def volume(self) -> float:
        """Output gain, 0 to 1."""
        return self._mixer.volume

    @volume.setter
    def volume(self, value: float) -> None:
        with self._at_now():
            self._mixer.volume = value

    def louder(self) -> float:
        """One volume step up."""
        with self._at_now():
            return self._mixer.louder()

    def quieter(self) -> float:
        """One volume step down."""
        with self._at_now():
            return self._mixer.quieter()

    @property
    def busy(self) -> bool:
        """Whether anything plays or waits to."""
        return self._mixer.busy

    def subscribe(self, listener: Listener) -> None:
        """Be told what plays when, in this sink's clock."""
        self._notifier.subscribe(listener)


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
    volume: float = 0.8
    """Starting volume, 0 to 1."""
    stall_seconds: float = 3.0
    """No callback for this long (or a stream that stopped by itself) means the device is gone."""
    retry_seconds: float = 1.0
    """First pause between attempts to reopen a lost device; it grows ×1.5 up to `max_retry_seconds`."""
    max_retry_seconds: float = 5.0
    """Longest pause between attempts (each failed attempt makes PortAudio print a few lines)."""


class Player(_MixerControls):
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
        self._notifier = _Notifier(threaded=True)
        self.underflows = 0
        """Blocks PortAudio reported as late (a crackle)."""
        self.errors = 0
        """Exceptions inside the audio callback (each gives one silent block)."""
        self.losses = 0
        """Times the device disappeared."""
        self._idle = threading.Event()
        self._idle.set()
        self._closed = threading.Event()
        self._lost = False
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
        self._watchdog = threading.Thread(target=self._watch, daemon=True, name="speaker-watchdog")
        self._watchdog.start()

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
    def _healthy(self) -> bool:
        stream = self._stream
        try:
            active = stream is not None and bool(stream.active)
        except Exception:  # noqa: BLE001 - a dead stream may fail in any way
            active = False
        return active and time.monotonic() - self._last_callback < self.settings.stall_seconds

    def _report(self, state: str, message: str) -> None:
        (_LOGGER.warning if state == "lost" else _LOGGER.info)("speaker %s: %s (%s)", self.device.name, state, message)
        if self._on_status is not None:
            try:
                self._on_status(DeviceStatus(state, self.device.name, message, "output"))
            except Exception:
                _LOGGER.exception("speaker status listener failed")

    def _drop_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is None:
            return

        def close() -> None:
            try:
                stream.abort()
                stream.close()
            except Exception as exc:  # noqa: BLE001
                _LOGGER.debug("closing the lost speaker stream: %s", exc)

        closer = threading.Thread(target=close, daemon=True, name="speaker-close")
        closer.start()
        closer.join(timeout=2.0)

    def _watch(self) -> None:
        period = min(0.1, self.settings.stall_seconds / 4)
        while not self._closed.wait(period):
            if self._healthy():
                continue
            self.losses += 1
            self._lost = True
            # what was queued cannot be heard: drop it, and say so to the listeners (narration_done…)
            self._mixer.stop()
            _, notices = self._mixer.render(1, self._clock())
            for notice in notices:
                self._notifier.send(notice)
            self._idle.set()
            self._report("lost", "the speaker stopped; retrying")
            self._drop_stream()
            wait = self.settings.retry_seconds
            while not self._closed.wait(wait):
                wait = min(self.settings.max_retry_seconds, wait * 1.5)
                try:
                    with native_noise_filtered():
                        self._open()
                except DeviceError as exc:
                    _LOGGER.debug("speaker still gone: %s", exc)
                    continue
                opened_at = time.monotonic()
                deadline = opened_at + self.settings.stall_seconds
                while time.monotonic() < deadline and self._last_callback <= opened_at and not self._closed.is_set():
                    time.sleep(0.02)
                if self._healthy() and self._last_callback > opened_at:
                    self._lost = False
                    self._report("restored", "playing again")
                    break
                self._drop_stream()

    @property
    def lost(self) -> bool:
        """Whether the device is gone right now."""
        return self._lost

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
        except Exception:  # never let the callback die: that would stop the stream
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
        self._watchdog.join(timeout=3)
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.stop()
                stream.close()
            except self._sd.PortAudioError as exc:
                _LOGGER.warning("closing the speaker: %s", exc)
        self._notifier.close()

    def __enter__(self) -> Player:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class WavSink(_MixerControls):
    """A speaker that writes a WAV file on a clock's timeline: silence where nothing plays, sound where it does.

    With a virtual clock the run loop calls `advance_to(t)` as time moves; with `realtime=True` a
    thread follows the clock by itself. The file's second s is the clock's `origin + s`.
    """

    def __init__(
        self,
        path: str | Path,
        clock: Callable[[], float],
        *,
        sample_rate: int = 22050,
        volume: float = 0.8,
        realtime: bool = False,
        origin: float | None = None,
    ) -> None:
        self.path = Path(path)
        self.sample_rate = int(sample_rate)
        self._clock = clock
        self.origin = clock() if origin is None else origin
        self._mixer = Mixer(self.sample_rate, volume=volume)
        self._notifier = _Notifier(threaded=False)
        self._lock = threading.RLock()
        self._written = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._wav = wave.open(str(self.path), "wb")
        except OSError as exc:
            raise AudioFileError(f"cannot write WAV file {self.path}: {exc}") from exc
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(self.sample_rate)
        self._closed = False
        self._pump: threading.Thread | None = None
        self._stop_pump = threading.Event()
        if realtime:
            self._pump = threading.Thread(target=self._follow, daemon=True, name="wav-sink")
            self._pump.start()

    @property
    def position(self) -> float:
        """Clock time up to which the file is written."""
        return self.origin + self._written / self.sample_rate

    def advance_to(self, t: float) -> None:
        """Write the timeline up to clock time `t`; the notices for that stretch are sent on return."""
        sent: list[NowPlaying] = []
        with self._lock:
            if not self._closed:
                target = int(round((t - self.origin) * self.sample_rate))
                block = max(1, self.sample_rate // 100)
                while self._written < target:
                    n = min(block, target - self._written)
                    samples, notices = self._mixer.render(n, self.position)
                    self._wav.writeframes(to_int16(samples).tobytes())
                    self._written += n
                    sent += notices
        for notice in sent:  # outside the lock: a listener may call back into the sink
            self._notifier.send(notice)

    def _follow(self) -> None:
        while not self._stop_pump.wait(0.01):
            self.advance_to(self._clock())

    def _catch_up(self) -> None:
        self.advance_to(self._clock())

    @contextmanager
    def _at_now(self) -> Iterator[None]:
        """Write the file up to the clock's present before a change, so the change lands at that time."""
        with self._lock:
            self._catch_up()
            yield

    def queued_seconds(self) -> float:
        """Clock seconds until the queue is played out (for a virtual clock to schedule `narration_done`)."""
        return self._mixer.queued_seconds()

    def drain(self, limit: float = 3600.0) -> float:
        """Let the clock-free tail play out: write until nothing is queued (at most `limit` s); the end time."""
        with self._lock:
            end = self.position + limit
            while self._mixer.busy and not self._mixer.paused and self.position < end:
                self.advance_to(self.position + 0.1)
            return self.position

    def close(self, drain: bool = False) -> None:
        """Write up to now (and, with `drain`, whatever is still queued), then finish the file."""
        if self._pump is not None:
            self._stop_pump.set()
            self._pump.join(timeout=2)
        with self._lock:
            if self._closed:
                return
            self._catch_up()
            if drain:
                self.drain()
            self._closed = True
            self._wav.close()

    def __enter__(self) -> WavSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
