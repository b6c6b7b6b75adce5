"""The echo guard: drop commands the assistant heard from its own speaker, and only those.

With the echo canceller working, the question "the speaker or a person?" is answered from the audio: over the
stretch where the command was heard, the canceller took out nearly all of the microphone's sound when that sound
was the speaker's own (what is left is the residue), and little of it when a person spoke (their voice is not in
what was played). So a command whose cleaned audio is far weaker than the raw microphone's is the speaker's
echo; any other stands, also when the person says a word the narration is saying (answering the help list or
the stop question). Without a canceller (no wheel for this machine, or turned off) the old rules are all there is:
a command whose phrase occurs in what was playing at that moment (plus a short tail) is dropped, and so is one
that a single model named alone (the keyword model sure of itself without pocketsphinx's word).
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

import numpy as np

from voiceguide.core.commands import Vocabulary, normalize, tokens
from voiceguide.core.events import Heard
from voiceguide.core.sound import SAMPLE_RATE

__all__ = ["EchoGuard", "EchoSettings", "Playing"]

_LOGGER = logging.getLogger(__name__)
_FRAME = 160
"""Samples per energy frame (10 ms)."""


@dataclass(frozen=True)
class EchoSettings:
    """How long after the speaker falls silent its words may still come back, and what counts as echo."""

    tail: float = 0.6
    """Seconds after a sound ends during which its words are still suspect."""
    lead: float = 0.1
    """Seconds before a sound's announced start (the announcement may be a little late)."""
    keep: int = 64
    """How many recent sounds to remember."""
    removed_db: float = 15.0
    """A heard command is echo when the canceller took out at least this much of the microphone's sound there."""
    keep_seconds: float = 8.0
    """How far back the raw and cleaned energies are kept."""


@dataclass(frozen=True)
class Playing:
    """One sound the Player put out: what it says and when, in stream seconds."""

    text: str
    start: float
    end: float


class _Energies:
    """10 ms frame energies of one signal on the stream timeline, the last few seconds."""

    def __init__(self, keep_seconds: float) -> None:
        self._frames: deque[tuple[int, float]] = deque(maxlen=int(keep_seconds * SAMPLE_RATE / _FRAME))
        self._rest = np.zeros(0, dtype=np.float64)
        self._next: int | None = None

    def add(self, samples: np.ndarray, start: float) -> None:
        x = np.asarray(samples, dtype=np.float64).reshape(-1)
        if self._next is None or len(self._rest) == 0:
            self._next = round(start * SAMPLE_RATE / _FRAME)
            self._rest = x
        else:
            self._rest = np.concatenate([self._rest, x])
        n = len(self._rest) // _FRAME
        if n:
            e = (self._rest[: n * _FRAME].reshape(n, _FRAME) ** 2).mean(axis=1)
            self._frames.extend((self._next + i, float(v)) for i, v in enumerate(e))
            self._next += n
            self._rest = self._rest[n * _FRAME :]

    def between(self, start: float, end: float) -> dict[int, float]:
        a, b = int(start * SAMPLE_RATE / _FRAME), int(end * SAMPLE_RATE / _FRAME) + 1
        return {i: e for i, e in self._frames if a <= i <= b}


class EchoGuard:
    """Lets through every command a person said; drops the speaker's own words."""

    def __init__(self, vocabulary: Vocabulary, settings: EchoSettings | None = None) -> None:
        self._vocabulary = vocabulary
        self._settings = settings or EchoSettings()
        self._playing: deque[Playing] = deque(maxlen=self._settings.keep)
        self._raw = _Energies(self._settings.keep_seconds)
        self._cleaned = _Energies(self._settings.keep_seconds)
        self._compared = False
        self.dropped: list[Heard] = []

    def playing(self, text: str, start: float, end: float) -> None:
        """The Player's notice: `text` sounds from `start` to `end` (stream seconds)."""
        if text.strip():
            self._playing.append(Playing(normalize(text), start, end))

    def microphone(self, raw: np.ndarray, raw_start: float, cleaned: np.ndarray, cleaned_start: float) -> None:
        """The canceller's input and output for one chunk (stream seconds): from now on, echo is judged by audio."""
        self._raw.add(raw, raw_start)
        self._cleaned.add(cleaned, cleaned_start)
        self._compared = True

    def removed_db(self, start: float, end: float) -> float | None:
        """How much weaker the cleaned microphone is than the raw one where it is loudest in [start, end]."""
        raw = self._raw.between(start, end)
        cleaned = self._cleaned.between(start, end)
        common = sorted(set(raw) & set(cleaned))
        if len(common) < 5:
            return None
        c = np.array([cleaned[i] for i in common])
        r = np.array([raw[i] for i in common])
        loud = np.argsort(c)[-max(3, len(c) // 3) :]  # the word's frames, not the pauses around it
        return float(10 * np.log10((r[loud].mean() + 1.0) / (c[loud].mean() + 1.0)))

    def _overlapping(self, heard: Heard) -> list[Playing]:
        s = self._settings
        return [p for p in self._playing if p.start - s.lead <= heard.end and heard.start <= p.end + s.tail]

    def admit(self, heard: Heard) -> bool:
        """False when the heard command is the speaker's own sound."""
        if heard.command is None:
            return True
        sounds = self._overlapping(heard)
        if not sounds:
            return True
        if self._compared:
            removed = self.removed_db(heard.start, heard.end)
            if removed is not None:
                if removed >= self._settings.removed_db:
                    _LOGGER.info("dropped %r at %.2f s: the canceller took out %.0f dB there (the speaker's echo)",
                                 heard.text, heard.end, removed)
                    self.dropped.append(heard)
                    return False
                _LOGGER.debug("kept %r at %.2f s over the speaker: %.0f dB removed (a person)",
                              heard.text, heard.end, removed)
                return True
        if not heard.seconded:
            _LOGGER.info("dropped %r at %.2f s: over the speaker with no canceller, one model alone is not enough",
                         heard.text, heard.end)
            self.dropped.append(heard)
            return False
        own = [p.split() for p, c in self._vocabulary.all_phrases().items() if c == heard.command]
        if tokens(heard.text) not in own:
            own.append(tokens(heard.text))
        for sound in sounds:
            words = sound.text.split()
            for candidate in own:
                n = len(candidate)
                if n and any(words[i : i + n] == candidate for i in range(len(words) - n + 1)):
                    _LOGGER.info("dropped %r at %.2f s: the speaker was saying %r", heard.text, heard.end, sound.text)
                    self.dropped.append(heard)
                    return False
        return True

    def filter(self, heard: list[Heard]) -> list[Heard]:
        """The admitted ones, in order."""
        return [h for h in heard if self.admit(h)]
