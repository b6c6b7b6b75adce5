"""The English recognizer without a vosk model: the streaming keyword model alone, every 80 ms.

It decides about a quarter of a second after a word ends (no endpoint to wait for), hears every built-in phrase
it was trained on, and rejects talk by what it learned of words, names and sentences. A pack phrase the model
was not trained on cannot be heard by it: the factory then picks pocketsphinx for that pack.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from voiceguide.core.commands import Command, Vocabulary
from voiceguide.core.events import Heard
from voiceguide.core.sound import SAMPLE_RATE
from voiceguide.speech.base import EngineUnavailable, RecognitionSettings, as_int16
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

if TYPE_CHECKING:
    from voiceguide.speech.sphinx import SphinxRecognizer

__all__ = ["KeywordRecognizer", "keyword_model_covers"]

_LOGGER = logging.getLogger(__name__)

WORD_SECONDS = 0.6
"""A command's typical length: its reported start is this much before its end."""
END_LAG = 2
"""Steps between a phrase's end and the step at which the detector typically acts."""
PREFIX = 2 * SAMPLE_RATE
"""Faint noise the stream starts with, so a command said in its first two seconds has a whole window."""


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
        self._confirm = self._decoder(vocabulary) if self._settings.keyword_confirm else None
        self._detector = Detector({}, self._detector_settings)
        self.set_commands(commands if commands is not None else vocabulary.phrases)
        self.reset()

    def _decoder(self, vocabulary: Vocabulary) -> SphinxRecognizer:
        """pocketsphinx with its decoy words, to confirm what the keyword model heard (a second, unlike opinion)."""
        from voiceguide.speech.sphinx import SphinxRecognizer

        return SphinxRecognizer(vocabulary, settings=replace(self._settings, verify=False))

    def set_commands(self, commands: Iterable[Command]) -> None:
        """Listen for these commands' phrases only; the others' probabilities are ignored."""
        self._allowed = frozenset(commands)
        if self._confirm is not None:
            self._confirm.set_commands(self._allowed)
        labels = [p for p, c in self._phrases.items() if c in self._allowed]
        values = {p: c.value for p, c in self._phrases.items()}
        self._thresholds = thresholds_for(self._model.thresholds, labels, values, self._detector_settings)
        self._detector.thresholds = self._thresholds

    def reset(self) -> None:
        """Forget pending audio and restart the stream clock at 0."""
        self._stream.reset()
        self._stream.feed(np.random.default_rng(0).normal(0.0, 8.0, PREFIX).astype(np.int16))
        self._detector = Detector(self._thresholds, self._detector_settings)
        self._history = np.zeros(0, dtype=np.int16)
        self._history_end = 0
        """Stream sample index just after `_history` (the last seconds, for the confirming decoder)."""
        self._awake_until = -1
        """The last step whose window still holds a sound louder than the quiet floor."""
        self._t0: float | None = None

    def feed(self, samples: np.ndarray | bytes, start: float | None = None) -> list[Heard]:
        """Take a chunk; a command comes out shortly after its last word ends."""
        if self._t0 is None:
            self._t0 = start or 0.0
        heard: list[Heard] = []
        stream = self._stream
        audio = as_int16(samples)
        if self._confirm is not None:
            self._history = np.concatenate([self._history, audio])[-3 * SAMPLE_RATE :]
            self._history_end += len(audio)  # counts from the first real sample
        for step in stream.feed(audio):
            if stream.loudness(step) >= self._settings.keyword_quiet_rms:
                self._awake_until = step + WINDOW
            if step < WINDOW - 1 or step > self._awake_until:
                self._detector.step({})  # nothing but quiet in the window: no network to run
                continue
            window = np.stack([stream.vector(k) for k in range(step - WINDOW + 1, step + 1)])
            p = self._model.probabilities(window)
            found = self._detector.step(dict(zip(self._model.labels, p.tolist(), strict=True)))
            if found is None:
                continue
            command = self._phrases.get(found.label)
            at = stream.end_sample(step) - PREFIX
            if command is None or command not in self._allowed:
                continue
            seconded = self._confirmed(command, found.probability, at)
            if seconded is False:
                continue
            end = self._t0 + (at - END_LAG * HOP) / SAMPLE_RATE
            _LOGGER.debug("keyword %r (%.2f) at %.2f s", found.label, found.probability, end)
            start = max(self._t0, end - WORD_SECONDS)
            heard.append(Heard(found.label, command, found.probability, start, end, self.engine, seconded is True))
        return heard

    def _confirmed(self, command: Command, probability: float, end_sample: int) -> bool | None:
        """True when pocketsphinx decodes the same command from the last second and a half, False when it does not,
        None when it is not asked (no confirming decoder, or the model sure enough alone)."""
        if self._confirm is None or probability >= self._settings.keyword_alone:
            return None
        a = len(self._history) - (self._history_end - end_sample) - int(1.6 * SAMPLE_RATE)
        pcm = self._history[max(0, a) : len(self._history) - max(0, self._history_end - end_sample)].tobytes()
        text = self._confirm.decode(pcm)
        agreed = self._vocabulary.match(text, self._allowed) == command if text else False
        _LOGGER.debug("keyword %s; pocketsphinx heard %r: %s", command, text, "confirmed" if agreed else "rejected")
        return agreed

    def flush(self) -> list[Heard]:
        """End of stream: a little silence lets a command said at the very end be decided."""
        return self.feed(np.zeros(HOP * (END_LAG + 2), dtype=np.int16))
