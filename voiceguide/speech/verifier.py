"""A second opinion on each utterance the English fallback hears, from a speech embedding trained on far more voices.

pocketsphinx's bundled acoustic model alone hears about four in five of the corpus' commands from speakers it
was not tuned on, and far fewer over running water. Google's speech embedding (a small convolutional network
pre-trained for keyword spotting on a large amount of speech; ONNX copies in `data/`, see `data/NOTICE.md`)
turns the last two seconds of an utterance into 16 vectors; a softmax classifier on them (`data/verifier-en.npz`,
made by `scripts/train_verifier.py` from synthesized phrases and the tuning speakers only) gives each command,
and "other", a probability. `decide` weighs the two opinions: the classifier may veto or replace only the
commands it learned from human speakers; on the others pocketsphinx's word stands.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voiceguide.core.commands import Command
from voiceguide.core.sound import SAMPLE_RATE
from voiceguide.speech.keywords import Embedder

__all__ = ["BUILTIN_VERIFIER", "WINDOW_SECONDS", "Rule", "Verdict", "Verifier", "decide", "features"]

_DATA = Path(__file__).parent / "data"
BUILTIN_VERIFIER = _DATA / "verifier-en.npz"
WINDOW_SECONDS = 2.0
"""Audio the classifier sees, ending where the decoded utterance ends (16 embedding vectors)."""
OTHER = "other"
"""The classifier's label for speech that is no command."""


def features(embeddings: np.ndarray) -> np.ndarray:
    """One vector per window: the 16 embeddings in order, plus their mean and maximum (word position varies)."""
    return np.concatenate([embeddings.reshape(-1), embeddings.mean(axis=0), embeddings.max(axis=0)]).astype(np.float32)


@dataclass(frozen=True)
class Verdict:
    """What the classifier makes of one utterance."""

    command: Command | None
    """The command to act on, or None to ignore the utterance."""
    probability: float
    """The classifier's probability for that command (or for the best allowed one when rejected)."""


class Verifier:
    """The embedding network and the command classifier on top of it; one per recognizer."""

    def __init__(self, classifier: Path = BUILTIN_VERIFIER) -> None:
        with np.load(classifier) as data:
            self.labels = [str(x) for x in data["labels"]]
            self._mean = data["mean"]
            self._scale = data["scale"]
            self._weights = data["weights"]
            self._bias = data["bias"]
            self.rule = Rule(float(data["agree"]), float(data["alone"]), float(data["switch"]),
                             frozenset(Command(str(x)) for x in data["trusted"]))
        self._embedder = Embedder()

    def embeddings(self, audio: np.ndarray) -> np.ndarray:
        """(n, 96) embedding vectors of int16 audio at 16 kHz, one per 80 ms once 0.76 s are in."""
        return self._embedder.clip_embeddings(audio)

    def window(self, audio: np.ndarray) -> np.ndarray:
        """The last WINDOW_SECONDS of the audio, padded in front with faint noise when shorter."""
        n = int(WINDOW_SECONDS * SAMPLE_RATE)
        audio = np.asarray(audio, dtype=np.int16)[-n:]
        if len(audio) < n:
            pad = np.random.default_rng(len(audio)).normal(0.0, 20.0, n - len(audio)).astype(np.int16)
            audio = np.concatenate([pad, audio])
        return audio

    def probabilities(self, audio: np.ndarray) -> dict[str, float]:
        """Each label's probability for the utterance that ends where `audio` ends."""
        x = (features(self.embeddings(self.window(audio))) - self._mean) / self._scale
        z = x @ self._weights + self._bias
        p = np.exp(z - z.max())
        p /= p.sum()
        return dict(zip(self.labels, p.tolist(), strict=True))

    def decide(
        self, audio: np.ndarray, heard: Command | None, allowed: Iterable[Command], final: bool = True
    ) -> Verdict:
        """The fusion rule on this utterance; before its end (`final` False) only pocketsphinx's command may stand."""
        rule = self.rule if final else Rule(self.rule.agree, 2.0, 2.0, self.rule.trusted)
        return decide(self.probabilities(audio), heard, allowed, rule)


@dataclass(frozen=True)
class Rule:
    """How far the classifier is trusted; fitted by scripts/train_verifier.py on the tuning speakers."""

    agree: float
    """pocketsphinx's (trusted) command stands when the classifier gives it at least this."""
    alone: float
    """The classifier's own best trusted command is taken at this probability (pocketsphinx heard other words)."""
    switch: float
    """...and overrules pocketsphinx's command for a word the classifier never heard people say at this one."""
    trusted: frozenset[Command]
    """Commands the classifier learned from human speakers, not only from synthesized voices."""


def decide(p: dict[str, float], heard: Command | None, allowed: Iterable[Command], rule: Rule) -> Verdict:
    """The fusion rule, shared by the recognizer and the training script that fits its thresholds.

    Only on the commands it learned from people is the classifier's word worth more than pocketsphinx's: on
    the others (taught by espeak-ng alone) it mistakes natural voices, e.g. a real "start" for "stop".
    """
    allowed = [c for c in allowed if c.value in p]
    trusted = [c for c in allowed if c in rule.trusted]
    best = max(trusted, key=lambda c: p[c.value]) if trusted else None
    if heard is not None and heard in allowed and heard not in rule.trusted:
        if best is not None and p[best.value] >= rule.switch:
            return Verdict(best, p[best.value])
        return Verdict(heard, p[heard.value])
    if heard is not None and heard in allowed and p[heard.value] >= rule.agree:
        return Verdict(heard, p[heard.value])
    if best is not None and p[best.value] >= rule.alone:
        return Verdict(best, p[best.value])
    return Verdict(None, p[best.value] if best is not None else 0.0)
