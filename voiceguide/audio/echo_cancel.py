"""Acoustic echo cancellation: take what the speaker played out of what the microphone heard.

A speaker and a mic in one small box: while the narration plays, the mic hears it louder than the person,
and the recognizer hears one long mixed utterance. We know exactly what the speaker plays (the Player's
render tap), so WebRTC's AEC3 (through the `livekit` wheel's AudioProcessingModule, which runs fully
offline) subtracts it before the recognizer sees the audio.

Both sides are cut into 10 ms frames at 16 kHz. Each render frame carries the clock time it reaches the
speaker, each capture frame the time the mic took it; before a capture frame is cleaned, every render
frame due by then (plus `lead_seconds`) is handed to AEC3 first, so the echo never comes before its
source whatever the threads' jitter. AEC3 finds the remaining acoustic and buffer delay itself.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from voiceguide.audio.source import AudioChunk
from voiceguide.core.sound import SAMPLE_RATE

__all__ = ["DuckSettings", "EchoCancelSettings", "EchoCanceller", "EchoCancelUnavailable", "RenderFeed", "TalkDucker",
           "load_apm"]

_LOGGER = logging.getLogger(__name__)

FRAME = SAMPLE_RATE // 100
"""Samples in one 10 ms frame at 16 kHz: the only frame length AEC3 takes."""


class EchoCancelUnavailable(RuntimeError):
    """The echo canceller cannot run here (the `livekit` wheel is missing or has no library for this machine)."""


class RenderFeed(Protocol):
    """Blocks the speaker actually played, each with the clock time of its first sample at the speaker."""

    sample_rate: int

    def drain(self) -> list[tuple[np.ndarray, float | None]]:
        """Everything played since the last call (never blocks the audio callback that fills it)."""
        ...


@dataclass(frozen=True)
class EchoCancelSettings:
    """How the echo canceller is set up."""

    lead_seconds: float = 0.1
    """Render audio is handed over this long before it is due at the speaker, so timing errors never
    put an echo ahead of its source (AEC3 finds the real delay itself, up to a few hundred ms)."""
    noise_suppression: bool = False
    """WebRTC's noise suppressor too (off: the recognizer's own VAD copes with steady noise)."""
    high_pass_filter: bool = True
    """Cut rumble below ~80 Hz before cancelling."""
    auto_gain_control: bool = False
    """WebRTC's gain control (off: it would change the levels the recognizer was tuned on)."""
    resample_quality: str = "LQ"
    """soxr quality for render audio not at 16 kHz. Its filter delays the reference, and an echo that reaches
    AEC3 before its reference is not cancelled: with 22.05 kHz narration an echo 40 ms after the tap was
    cancelled by 56 dB with LQ and by 4 dB with HQ (which needs 60 ms)."""
    render_seconds: float = 2.0
    """Render audio held while waiting for its capture; older audio is dropped (its echo is long gone)."""


def load_apm() -> Any:
    """The `livekit.rtc` module with a working native library, or a clear message naming what to install."""
    try:
        from livekit import rtc
    except ImportError as exc:
        raise EchoCancelUnavailable(
            "echo cancellation needs the 'livekit' package (pip install livekit); "
            f"without it commands are heard only between sentences ({exc})"
        ) from exc
    try:
        rtc.AudioProcessingModule(echo_cancellation=True)
    except Exception as exc:  # noqa: BLE001 - a missing .so (armv7: no wheel) fails as ImportError or OSError
        raise EchoCancelUnavailable(f"echo cancellation unavailable on this machine: {exc}") from exc
    return rtc


class EchoCanceller:
    """Cleans 16 kHz capture chunks of the speaker's own sound; `render` from any thread, `process` from one."""

    def __init__(self, settings: EchoCancelSettings | None = None, *, rtc: Any = None) -> None:
        self.settings = settings or EchoCancelSettings()
        rtc = rtc if rtc is not None else load_apm()
        s = self.settings
        self._apm = rtc.AudioProcessingModule(
            echo_cancellation=True,
            noise_suppression=s.noise_suppression,
            high_pass_filter=s.high_pass_filter,
            auto_gain_control=s.auto_gain_control,
        )
        # one 10 ms buffer per side, reused: AEC3 works on them in place
        self._render_buf = bytearray(FRAME * 2)
        self._capture_buf = bytearray(FRAME * 2)
        self._render_frame = rtc.AudioFrame(self._render_buf, SAMPLE_RATE, 1, FRAME)
        self._capture_frame = rtc.AudioFrame(self._capture_buf, SAMPLE_RATE, 1, FRAME)
        self._render_view = np.frombuffer(self._render_buf, dtype=np.int16)
        self._capture_view = np.frombuffer(self._capture_buf, dtype=np.int16)
        self._lock = threading.Lock()
        self._apm_lock = threading.Lock()
        self._feeds: list[RenderFeed] = []
        self._resamplers: dict[int, Any] = {}
        self._render: deque[tuple[np.ndarray, float | None]] = deque(maxlen=max(1, int(s.render_seconds * 100)))
        self._render_rest = np.zeros(0, dtype=np.int16)
        self._render_rest_t: float | None = None
        self._capture_rest = np.zeros(0, dtype=np.int16)
        self._capture_rest_t: float | None = None
        self._capture_pos = 0
        self._delay_ms = max(0, int(round(s.lead_seconds * 1000)))
        self.render_frames = 0
        """10 ms render frames handed to AEC3."""
        self.capture_frames = 0
        """10 ms capture frames cleaned."""
        self.render_dropped = 0
        """Render frames dropped because no capture came to use them in time."""

    # ---- the speaker's side (any thread) ---------------------------------------------------------
    def follow(self, feed: RenderFeed) -> None:
        """Take render audio from `feed` (the Player's tap) before each capture chunk is cleaned."""
        with self._lock:
            self._feeds.append(feed)

    def render(self, samples: np.ndarray, sample_rate: int, at: float | None = None) -> None:
        """What the speaker played (float in [-1, 1] or int16, any rate); `at`: clock time of its first sample."""
        x = np.asarray(samples)
        if x.dtype == np.int16:
            x = x.astype(np.float32) / 32768.0
        x = np.asarray(x, dtype=np.float32).reshape(-1)
        with self._lock:
            self._render_locked(x, int(sample_rate), at)

    def _render_locked(self, x: np.ndarray, rate: int, at: float | None) -> None:
        if rate != SAMPLE_RATE:
            resampler = self._resamplers.get(rate)
            if resampler is None:
                import soxr

                resampler = self._resamplers[rate] = soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32",
                                                                       quality=self.settings.resample_quality)
            seconds_in = len(x) / rate
            x = np.asarray(resampler.resample_chunk(x), dtype=np.float32)
            if at is not None:  # soxr holds a few ms back: what comes out ends that much before the input's end
                at += seconds_in - (len(x) + float(resampler.delay())) / SAMPLE_RATE
        pcm = (np.clip(x, -1.0, 1.0) * 32767.0).astype(np.int16)
        if len(self._render_rest):
            if at is not None:
                at -= len(self._render_rest) / SAMPLE_RATE
            elif self._render_rest_t is not None:
                at = self._render_rest_t
            pcm = np.concatenate([self._render_rest, pcm])
        whole = len(pcm) // FRAME * FRAME
        for i in range(0, whole, FRAME):
            if len(self._render) == self._render.maxlen:
                self.render_dropped += 1
            t = None if at is None else at + i / SAMPLE_RATE
            self._render.append((pcm[i : i + FRAME], t))
        self._render_rest = pcm[whole:].copy()
        self._render_rest_t = None if at is None else at + whole / SAMPLE_RATE

    def _pull_feeds(self) -> None:
        for feed in self._feeds:
            for block, at in feed.drain():
                self._render_locked(np.asarray(block, dtype=np.float32).reshape(-1), feed.sample_rate, at)

    # ---- the microphone's side (the listening thread) ---------------------------------------------
    def process(self, samples: np.ndarray, captured_at: float | None = None) -> np.ndarray:
        """The capture audio (16 kHz int16) with the echo taken out; it lags the input by under 10 ms."""
        pcm = np.asarray(samples, dtype=np.int16).reshape(-1)
        with self._lock:
            self._pull_feeds()
            if len(self._capture_rest):
                t0 = self._capture_rest_t
                pcm = np.concatenate([self._capture_rest, pcm])
            else:
                t0 = captured_at
            whole = len(pcm) // FRAME * FRAME
            frames = []
            for i in range(0, whole, FRAME):
                t = None if t0 is None else t0 + i / SAMPLE_RATE
                due = self._render_due(t)
                frames.append((pcm[i : i + FRAME], due))
            self._capture_rest = pcm[whole:].copy()
            self._capture_rest_t = None if t0 is None else t0 + whole / SAMPLE_RATE
        out = np.empty(whole, dtype=np.int16)
        with self._apm_lock:
            for k, (frame, due) in enumerate(frames):
                for render in due:
                    self._render_view[:] = render
                    self._apm.process_reverse_stream(self._render_frame)
                    self.render_frames += 1
                self._capture_view[:] = frame
                self._apm.set_stream_delay_ms(self._delay_ms)
                self._apm.process_stream(self._capture_frame)
                out[k * FRAME : (k + 1) * FRAME] = self._capture_view
                self.capture_frames += 1
        return out

    def _render_due(self, t: float | None) -> list[np.ndarray]:
        """Render frames due at the speaker by capture time `t` (+ the lead); all of them without times."""
        due: list[np.ndarray] = []
        horizon = None if t is None else t + self.settings.lead_seconds
        while self._render:
            frame, at = self._render[0]
            if horizon is not None and at is not None and at > horizon:
                break
            due.append(self._render.popleft()[0])
        return due

    def process_chunk(self, chunk: AudioChunk) -> AudioChunk:
        """A source's chunk cleaned, with its place in the stream (earlier by what was held for a whole frame)."""
        held = len(self._capture_rest)
        cleaned = self.process(chunk.samples, chunk.captured_at)
        start = chunk.start - held / SAMPLE_RATE
        captured = None if chunk.captured_at is None else chunk.captured_at - held / SAMPLE_RATE
        return AudioChunk(cleaned, start, captured)

    def process_all(self, chunks: Iterable[AudioChunk]) -> np.ndarray:
        """Every chunk cleaned, joined (for tests and measurements)."""
        parts = [self.process_chunk(c).samples for c in chunks]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)


@dataclass(frozen=True)
class DuckSettings:
    """When and how far the narration is turned down while the person talks over it."""

    gain: float = 0.15
    """Narration gain while the person talks (on top of the volume; -16 dB)."""
    hold_seconds: float = 2.5
    """Stay ducked this long after the person's last loud chunk, so a quick repeat of the word is heard too."""
    margin_db: float = 12.0
    """The cleaned mic must stand this far above its recent floor (steady noise such as a tap does not duck)."""
    min_db: float = 40.0
    """...and above this level (int16 RMS in dB): the cleaned echo alone stays near 0 dB."""
    floor_seconds: float = 3.0
    """How far back the floor looks."""


class TalkDucker:
    """Turns the narration down while the cleaned mic shows the person talking.

    AEC3's suppressor keeps the echo out in double talk by also eating the quiet parts of the person's word
    (its onset and a final "z" said over narration: "pause" came out as "on"). Ducking as soon as the
    person is heard lets the rest of the word, and a repeat, through at a much lower echo level: offline, 8
    of 12 mid-sentence pauses were heard without ducking, 11 of 12 with it (gain 0.25); through the virtual
    devices a first "pause" over full narration is rarely heard, its quick repeat over the ducked one mostly is.
    """

    def __init__(self, duck: Callable[[float], None], settings: DuckSettings | None = None) -> None:
        self._duck = duck
        self.settings = settings or DuckSettings()
        self._levels: deque[float] = deque(maxlen=max(10, int(self.settings.floor_seconds * 50)))
        self._until: float | None = None
        self.ducks = 0
        """Times the narration was turned down."""

    @property
    def ducked(self) -> bool:
        """Whether the narration is turned down now."""
        return self._until is not None

    def release(self) -> None:
        """Back to full level now (a command was heard: what answers it must be heard in full)."""
        if self._until is not None:
            self._until = None
            self._duck(1.0)

    def update(self, cleaned: np.ndarray, start: float) -> bool:
        """One cleaned chunk starting at stream second `start`; whether the person is talking in it."""
        s = self.settings
        x = np.asarray(cleaned, dtype=np.float32)
        if not len(x):
            return False
        level = float(10 * np.log10(np.mean(x * x) + 1e-3))
        floor = float(np.percentile(self._levels, 20)) if self._levels else -30.0
        self._levels.append(level)
        talking = level >= s.min_db and level >= floor + s.margin_db
        end = start + len(x) / SAMPLE_RATE
        if talking:
            if self._until is None:
                self.ducks += 1
                _LOGGER.debug("the person talks at %.2f s (%.0f dB, floor %.0f dB): narration down",
                              start, level, floor)
                self._duck(s.gain)
            self._until = end + s.hold_seconds
        elif self._until is not None and end >= self._until:
            self._until = None
            self._duck(1.0)
        return talking
