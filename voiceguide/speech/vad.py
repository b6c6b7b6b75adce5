"""Where utterances start and end, robust to steady noise such as running water.

A frame counts as speech when it stands out from the recent noise floor by a margin *and* the WebRTC voice
detector (pocketsphinx's `Vad`, when given) calls it speech. WebRTC alone calls a running tap speech for
minutes on end, so every command said over it would be lost inside one endless "utterance"; the adaptive
floor (a low percentile of the last few seconds of frame energies) follows steady noise and lets the words
through.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from voiceguide.core.sound import SAMPLE_RATE as _RATE
from voiceguide.speech.base import EngineUnavailable

__all__ = ["FRAME", "Segmenter", "VadSettings", "webrtc_vad"]

FRAME = 480
"""Samples per frame (30 ms at 16 kHz)."""


def webrtc_vad(mode: int) -> Any:
    """The WebRTC voice detector that pocketsphinx ships (`mode`: aggressiveness 0-3), for a `Segmenter`."""
    try:
        from pocketsphinx import Vad
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise EngineUnavailable("voice detection needs the 'pocketsphinx' package: pip install pocketsphinx") from exc
    return Vad(mode)


@dataclass(frozen=True)
class VadSettings:
    """How speech is told from noise and when an utterance is over."""

    margin_db: float = 7.0
    """A speech frame is at least this much louder than the noise floor."""
    floor_seconds: float = 3.0
    """How far back the noise floor looks."""
    floor_percentile: float = 15.0
    """Which low percentile of recent frame energies is taken as the noise floor."""
    min_rms: float = 60.0
    """Frames quieter than this (int16 RMS) are never speech (digital silence, dither, hiss)."""
    start_frames: int = 3
    """Speech frames among the last `start_frames + 1` that start an utterance."""
    end_seconds: float = 0.3
    """Quiet that ends an utterance."""


class Segmenter:
    """Feed 30 ms frames; it says when an utterance starts and ends, in stream seconds."""

    def __init__(self, settings: VadSettings | None = None, webrtc: Any = None) -> None:
        self.settings = settings or VadSettings()
        self._webrtc = webrtc
        self._energies: deque[float] = deque(maxlen=max(10, round(self.settings.floor_seconds * _RATE / FRAME)))
        self._recent: deque[bool] = deque(maxlen=self.settings.start_frames + 1)
        self.frames = 0
        self.in_speech = False
        self.quiet = 0
        """Non-speech frames in a row (inside an utterance)."""
        self.voiced = 0
        """Speech frames in the current utterance."""
        self.speech_start = 0.0
        self.speech_end = 0.0
        self.floor_db = -120.0

    @property
    def now(self) -> float:
        """Stream seconds after the last frame."""
        return self.frames * FRAME / _RATE

    def is_speech(self, frame: bytes) -> bool:
        """This frame's verdict (also updates the noise floor)."""
        x = np.frombuffer(frame, dtype="<i2").astype(np.float32)
        power = float(np.mean(x * x)) if len(x) else 0.0
        db = 10.0 * np.log10(power + 1e-3)
        self._energies.append(db)
        self.floor_db = float(np.percentile(self._energies, self.settings.floor_percentile))
        loud = power >= self.settings.min_rms**2 and db >= self.floor_db + self.settings.margin_db
        if loud and self._webrtc is not None:
            loud = bool(self._webrtc.is_speech(frame))
        return loud

    def process(self, frame: bytes) -> str | None:
        """'start' when an utterance begins, 'end' when it is over, else None."""
        speech = self.is_speech(frame)
        self.frames += 1
        self._recent.append(speech)
        if not self.in_speech:
            if sum(self._recent) >= self.settings.start_frames:
                self.in_speech = True
                self.quiet = 0
                self.voiced = sum(self._recent)
                self.speech_start = self.now - len(self._recent) * FRAME / _RATE
                return "start"
            return None
        if speech:
            self.quiet = 0
            self.voiced += 1
            return None
        self.quiet += 1
        if self.quiet * FRAME / _RATE >= self.settings.end_seconds:
            self.in_speech = False
            self.speech_end = self.now - self.quiet * FRAME / _RATE
            self._recent.clear()
            return "end"
        return None

    def finish(self) -> str | None:
        """End of stream: 'end' if an utterance was open."""
        if not self.in_speech:
            return None
        self.in_speech = False
        self.speech_end = self.now - self.quiet * FRAME / _RATE
        return "end"
