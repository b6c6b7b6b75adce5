"""The English recognizer without a vosk model: the streaming keyword model alone, every 80 ms.

It decides about a quarter of a second after a word ends (no endpoint to wait for), hears every built-in phrase
it was trained on, and rejects talk by what it learned of words, names and sentences. A pack phrase the model
was not trained on cannot be heard by it: the factory then picks pocketsphinx for that pack.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from voiceguide.core.events import Heard
from voiceguide.core.commands import Command, Vocabulary
from voiceguide.speech.keywords import (
    BUILTIN_KEYWORDS,
    HOP,
    WINDOW,
    Detector,
    DetectorSettings,
    Embedder,
    EmbeddingStream,
    KeywordModel,
    thresholds_for,
)
from voiceguide.core.sound import SAMPLE_RATE
from voiceguide.speech.base import EngineUnavailable, RecognitionSettings, as_int16

__all__ = ["KeywordRecognizer", "keyword_model_covers"]

_LOGGER = logging.getLogger(__name__)

WORD_SECONDS = 0.6
"""A command's typical length: its reported start is this much before its end."""
END_LAG = 2
"""Steps between a phrase's end and the step at which the detector typically acts."""


def _model_path(settings: RecognitionSettings) -> Path:
    return Path(settings.keywords or BUILTIN_KEYWORDS)


def keyword_model_covers(vocabulary: Vocabulary, settings: RecognitionSettings) -> bool:
    """Whether the keyword model can hear every phrase of this vocabulary (else pocketsphinx must)."""
    path = _model_path(settings)
    if not path.is_file():
        return False
    with np.load(path) as data:
        labels = {str(x) for x in data["labels"]}
    return set(vocabulary.all_phrases()) <= labels


class KeywordRecognizer:
    """Commands from 16 kHz audio with the bundled keyword model; no download, no decoder."""

    engine = "keywords"

    def __init__(
        self,
        vocabulary: Vocabulary,
        commands: Iterable[Command] | None = None,
        settings: RecognitionSettings | None = None,
    ) -> None:
        self._settings = settings or RecognitionSettings()
        try:
            self._model = KeywordModel(_model_path(self._settings))
            self._stream = EmbeddingStream(Embedder())
        except Exception as exc:  # onnxruntime missing, file unreadable
            raise EngineUnavailable(str(exc)) from exc
        self._vocabulary = vocabulary
        self._phrases = {p: c for p, c in vocabulary.all_phrases().items() if p in self._model.labels}
        self._detector_settings = DetectorSettings(sensitivity=self._settings.keyword_sensitivity)
        self._allowed: frozenset[Command] = frozenset()
        self.set_commands(commands if commands is not None else vocabulary.phrases)
        self.reset()

    def set_commands(self, commands: Iterable[Command]) -> None:
        """Listen for these commands' phrases only; the others' probabilities are ignored."""
        self._allowed = frozenset(commands)
        labels = [p for p, c in self._phrases.items() if c in self._allowed]
        values = {p: c.value for p, c in self._phrases.items()}
        self._thresholds = thresholds_for(self._model.thresholds, labels, values, self._detector_settings)
        if hasattr(self, "_detector"):
            self._detector.thresholds = self._thresholds

    def reset(self) -> None:
        """Forget pending audio and restart the stream clock at 0."""
        self._stream.reset()
        self._window: deque[np.ndarray] = deque(maxlen=WINDOW)
        self._detector = Detector(self._thresholds, self._detector_settings)
        self._t0: float | None = None

    def feed(self, samples: np.ndarray | bytes, start: float | None = None) -> list[Heard]:
        """Take a chunk; a command comes out shortly after its last word ends."""
        if self._t0 is None:
            self._t0 = start or 0.0
        heard: list[Heard] = []
        for end_sample, vector in self._stream.feed(as_int16(samples)):
            self._window.append(vector)
            if len(self._window) < WINDOW:
                continue
            p = self._model.probabilities(np.stack(self._window))
            found = self._detector.step(dict(zip(self._model.labels, p.tolist(), strict=True)))
            if found is None:
                continue
            command = self._phrases.get(found.label)
            if command is None or command not in self._allowed:
                continue
            end = self._t0 + (end_sample - END_LAG * HOP) / SAMPLE_RATE
            _LOGGER.debug("keyword %r (%.2f) at %.2f s", found.label, found.probability, end)
            heard.append(Heard(found.label, command, found.probability, max(self._t0, end - WORD_SECONDS), end, self.engine))
        return heard

    def flush(self) -> list[Heard]:
        """End of stream: a little silence lets a command said at the very end be decided."""
        return self.feed(np.zeros(HOP * (END_LAG + 2), dtype=np.int16))
