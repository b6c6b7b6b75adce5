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
from typing import Any

import numpy as np

from voiceguide.core.commands import Command
from voiceguide.core.sound import SAMPLE_RATE
from voiceguide.speech.base import EngineUnavailable

__all__ = ["BUILTIN_VERIFIER", "WINDOW_SECONDS", "Rule", "Verdict", "Verifier", "decide", "features"]

_DATA = Path(__file__).parent / "data"
BUILTIN_VERIFIER = _DATA / "verifier-en.npz"
WINDOW_SECONDS = 2.0
"""Audio the classifier sees, ending where the decoded utterance ends (16 embedding vectors)."""
OTHER = "other"
"""The classifier's label for speech that is no command."""

_MEL_WINDOW = 76
_MEL_STEP = 8
"""The embedding model looks at 76 mel frames (0.76 s) and steps 8 frames (80 ms)."""


def features(embeddings: np.ndarray) -> np.ndarray:
    """One vector per window: the 16 embeddings in order, plus their mean and maximum (word position varies)."""
    return np.concatenate([embeddings.reshape(-1), embeddings.mean(axis=0), embeddings.max(axis=0)]).astype(np.float32)


def _onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:
        raise EngineUnavailable(
            "the command verifier needs the 'onnxruntime' package: pip install onnxruntime") from exc
    return onnxruntime


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
        ort = _onnxruntime()
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        providers = ["CPUExecutionProvider"]
        self._mel = ort.InferenceSession(str(_DATA / "melspectrogram.onnx"), options, providers=providers)
        self._embed = ort.InferenceSession(str(_DATA / "speech-embedding.onnx"), options, providers=providers)

    def embeddings(self, audio: np.ndarray) -> np.ndarray:
        """(n, 96) embedding vectors of int16 audio at 16 kHz, one per 80 ms once 0.76 s are in."""
        x = np.asarray(audio, dtype=np.float32)[None, :]
        spec = np.squeeze(self._mel.run(None, {"input": x})[0]) / 10.0 + 2.0
        starts = range(0, spec.shape[0] - _MEL_WINDOW + 1, _MEL_STEP)
        # one window per call: a batch of 16 costs ~30 MB more peak memory and is no faster on one thread
        windows = (spec[None, i : i + _MEL_WINDOW, :, None].astype(np.float32) for i in starts)
        return np.stack([np.asarray(self._embed.run(None, {"input_1": w})[0]).reshape(-1) for w in windows])

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
