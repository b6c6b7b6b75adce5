"""Commands spotted in the stream: Google's speech embedding every 80 ms, a small network over the last two seconds.

The openWakeWord recipe, for the whole vocabulary at once: the mel front end and the embedding network (ONNX
copies in `data/`, see `data/NOTICE.md`) turn each 80 ms of audio into one 96-number vector; a two-layer network
(`data/keywords-en.npz`, numpy at run time, made by `scripts/train_keywords.py` from many synthesized voices,
rooms, noises and the product's own narration) gives every command phrase, and "other", a probability for the
window that ends now. `Detector` turns that stream of probabilities into commands shortly after a word ends.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voiceguide.speech.base import EngineUnavailable

__all__ = [
    "BUILTIN_KEYWORDS",
    "EMBED_SPAN",
    "HOP",
    "OTHER",
    "WINDOW",
    "Detection",
    "Detector",
    "DetectorSettings",
    "Embedder",
    "EmbeddingStream",
    "KeywordModel",
    "KeywordsUnavailable",
    "head",
]

_LOGGER = logging.getLogger(__name__)

_DATA = Path(__file__).parent / "data"
BUILTIN_KEYWORDS = _DATA / "keywords-en.npz"
OTHER = "other"
"""The label for anything that is not a command phrase ending now."""

MEL_HOP = 160
MEL_WIN = 512
MEL_FRAMES = 76
"""The embedding network looks at 76 mel frames (0.78 s) ..."""
MEL_STEP = 8
"""... and steps 8 frames."""
HOP = MEL_HOP * MEL_STEP
"""Samples per embedding step (80 ms)."""
EMBED_SPAN = (MEL_FRAMES - 1) * MEL_HOP + MEL_WIN
"""Samples one embedding sees; embedding i ends at sample i * HOP + EMBED_SPAN."""
WINDOW = 16
"""Embeddings the head sees at once (about two seconds)."""


class KeywordsUnavailable(EngineUnavailable):
    """The keyword model cannot run here (onnxruntime or its data missing); the message says what to do."""


def _onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:
        raise KeywordsUnavailable("the keyword model needs the 'onnxruntime' package: pip install onnxruntime") from exc
    return onnxruntime


class Embedder:
    """The mel front end and the embedding network; one thread each, loaded once per recognizer."""

    def __init__(self) -> None:
        ort = _onnxruntime()
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        providers = ["CPUExecutionProvider"]
        self._mel = ort.InferenceSession(str(_DATA / "melspectrogram.onnx"), options, providers=providers)
        self._embed = ort.InferenceSession(str(_DATA / "speech-embedding.onnx"), options, providers=providers)

    def mel(self, audio: np.ndarray) -> np.ndarray:
        """(frames, 32) mel frames of int16 audio; frame f covers samples [160 f, 160 f + 512)."""
        if len(audio) < MEL_WIN:
            return np.zeros((0, 32), dtype=np.float32)
        x = np.asarray(audio, dtype=np.float32)[None, :]
        return (np.asarray(self._mel.run(None, {"input": x})[0]).reshape(-1, 32) / 10.0 + 2.0).astype(np.float32)

    def embed(self, frames: np.ndarray) -> np.ndarray:
        """(96,) vector of 76 mel frames."""
        x = frames[None, :, :, None].astype(np.float32)
        return np.asarray(self._embed.run(None, {"input_1": x})[0], dtype=np.float32).reshape(-1)

    def clip_embeddings(self, audio: np.ndarray) -> np.ndarray:
        """(n, 96): embedding i of a whole clip ends at sample i * HOP + EMBED_SPAN, as the stream would give it."""
        spec = self.mel(audio)
        starts = range(0, spec.shape[0] - MEL_FRAMES + 1, MEL_STEP)
        if not starts:
            return np.zeros((0, 96), dtype=np.float32)
        return np.stack([self.embed(spec[i : i + MEL_FRAMES]) for i in starts])


class EmbeddingStream:
    """Audio in, any chunk size; the 80 ms steps out, each step's embedding made only when asked for.

    Step i's embedding equals row i of `Embedder.clip_embeddings` of the whole stream; it can be asked for while
    the step is among the last `keep` ones, so a quiet stretch costs only the mel front end and the network
    runs once speech makes the window worth looking at.
    """

    def __init__(self, embedder: Embedder, keep: int = WINDOW) -> None:
        self._embedder = embedder
        self._keep = keep
        self.reset()

    def reset(self) -> None:
        """Start a new stream at sample 0."""
        self._audio = np.zeros(0, dtype=np.int16)
        self._audio_start = 0
        """Stream sample index of `_audio[0]`."""
        self._frames = np.zeros((0, 32), dtype=np.float32)
        self._loudness = np.zeros(0, dtype=np.float32)
        """RMS of each mel frame's newest 10 ms, parallel to `_frames`."""
        self._first_frame = 0
        """Index of `_frames[0]`."""
        self._vectors: dict[int, np.ndarray] = {}
        self.count = 0
        """Steps completed so far."""

    @staticmethod
    def end_sample(step: int) -> int:
        """The stream sample at which a step's audio ends."""
        return step * HOP + EMBED_SPAN

    def feed(self, samples: np.ndarray) -> list[int]:
        """The steps these samples complete; each can look back `keep` steps until the next call."""
        oldest = max(0, self.count - self._keep)
        drop = oldest * MEL_STEP - self._first_frame
        if drop > 0:
            self._frames = self._frames[drop:]
            self._loudness = self._loudness[drop:]
            self._first_frame += drop
            self._vectors = {k: v for k, v in self._vectors.items() if k >= oldest}
        self._audio = np.concatenate([self._audio, np.asarray(samples, dtype=np.int16)])
        end = self._audio_start + len(self._audio)
        next_frame = self._first_frame + len(self._frames)
        last = (end - MEL_WIN) // MEL_HOP  # the last mel frame the audio completes
        if last >= next_frame:
            a = next_frame * MEL_HOP - self._audio_start
            b = last * MEL_HOP + MEL_WIN - self._audio_start
            piece = self._audio[a:b]
            self._frames = np.concatenate([self._frames, self._embedder.mel(piece)])
            tails = np.stack([piece[k * MEL_HOP + MEL_WIN - MEL_HOP : k * MEL_HOP + MEL_WIN]
                              for k in range(last - next_frame + 1)]).astype(np.float32)
            self._loudness = np.concatenate([self._loudness, np.sqrt((tails**2).mean(axis=1))])
            keep = (last + 1) * MEL_HOP - self._audio_start  # audio the next frame needs starts here
            self._audio = self._audio[keep:]
            self._audio_start += keep
        next_frame = self._first_frame + len(self._frames)
        done: list[int] = []
        while self.count * MEL_STEP + MEL_FRAMES <= next_frame:
            done.append(self.count)
            self.count += 1
        return done

    def loudness(self, step: int) -> float:
        """RMS (int16 units) of the newest 80 ms of a step's audio."""
        i = step * MEL_STEP + MEL_FRAMES - MEL_STEP - self._first_frame
        return float(self._loudness[max(0, i) : i + MEL_STEP].max(initial=0.0))

    def vector(self, step: int) -> np.ndarray:
        """A kept step's embedding (made once)."""
        v = self._vectors.get(step)
        if v is None:
            i = step * MEL_STEP - self._first_frame
            if i < 0 or step >= self.count:
                raise IndexError(f"step {step} is not kept (steps {self.count - self._keep}..{self.count - 1})")
            v = self._vectors[step] = self._embedder.embed(self._frames[i : i + MEL_FRAMES])
        return v


class KeywordModel:
    """The head: standardised window of 16 embeddings → ReLU layer → softmax over phrases and "other"."""

    def __init__(self, path: Path = BUILTIN_KEYWORDS) -> None:
        if not path.is_file():
            raise KeywordsUnavailable(f"the keyword model {path} is missing: reinstall voiceguide or pass another file")
        with np.load(path) as data:
            self.labels: list[str] = [str(x) for x in data["labels"]]
            self.params = {k: data[k].astype(np.float32) for k in ("mean", "scale", "w1", "b1", "w2", "b2")}
            self.thresholds: dict[str, float] = dict(zip(self.labels, data["thresholds"].tolist(), strict=True))
            self.language = str(data["language"]) if "language" in data else "en"

    def probabilities(self, windows: np.ndarray) -> np.ndarray:
        """(n, labels) probabilities of (n, 16, 96) windows (or one (16, 96) window → (labels,))."""
        one = windows.ndim == 2
        p = head(self.params, windows.reshape(1 if one else len(windows), -1))
        return p[0] if one else p


def head(params: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """The network on flattened windows (n, 1536): the run and the training script's validation share it."""
    h = np.maximum(((x - params["mean"]) / params["scale"]) @ params["w1"] + params["b1"], 0.0)
    z = h @ params["w2"] + params["b2"]
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    return p


@dataclass(frozen=True)
class DetectorSettings:
    """When a phrase's probability becomes a command."""

    sensitivity: float = 1.0
    """Scales every threshold (lower: hears more, also more talk)."""
    keen: tuple[tuple[str, float], ...] = (("stop", 0.7), ("pause", 0.7))
    """Commands whose thresholds are scaled further, as (command, factor): "stop" is confirmed anyway, and both must
    be heard at the first try."""
    hold_frames: int = 1
    """Steps (80 ms) a phrase stays the best one before it is acted on, so "go" is not taken from "go back"."""
    refractory_frames: int = 10
    """Steps after a command during which nothing else is heard (one word gives one command)."""


@dataclass(frozen=True)
class Detection:
    """A phrase the detector acted on, at which step, with its peak probability."""

    label: str
    frame: int
    probability: float


@dataclass
class Detector:
    """Probabilities in, one step at a time; a command out when a phrase peaks above its threshold."""

    thresholds: dict[str, float]
    """Label → probability threshold, for the labels allowed now (the others are not listened for)."""
    settings: DetectorSettings = field(default_factory=DetectorSettings)
    frame: int = 0
    _candidate: tuple[str, float, int] | None = None
    _quiet_until: int = -1

    def step(self, p: dict[str, float]) -> Detection | None:
        """Take the probabilities after one more 80 ms step."""
        self.frame += 1
        if self.frame <= self._quiet_until:
            return None
        best, best_p = None, 0.0
        for label, threshold in self.thresholds.items():
            q = p.get(label, 0.0)
            if q >= threshold and q > best_p:
                best, best_p = label, q
        cand = self._candidate
        if best is None:
            self._candidate = None
            return self._fire(cand) if cand is not None else None
        if cand is None or cand[0] != best:
            self._candidate = (best, best_p, 0)
        else:
            self._candidate = (best, max(best_p, cand[1]), cand[2] + 1)
        if self._candidate[2] >= self.settings.hold_frames:
            return self._fire(self._candidate)
        return None

    def _fire(self, cand: tuple[str, float, int]) -> Detection:
        self._candidate = None
        self._quiet_until = self.frame + self.settings.refractory_frames
        return Detection(cand[0], self.frame, cand[1])

    def run(self, probabilities: Iterable[dict[str, float]]) -> list[Detection]:
        """Every detection over a whole sequence (training and benches use the run-time rule through this)."""
        return [d for p in probabilities if (d := self.step(p)) is not None]


def thresholds_for(model_thresholds: dict[str, float], labels: Iterable[str], phrase_commands: dict[str, str],
                   settings: DetectorSettings) -> dict[str, float]:
    """The allowed labels' thresholds, with the settings' sensitivity and the keen commands' factors applied."""
    keen = dict(settings.keen)
    out: dict[str, float] = {}
    for label in labels:
        base = model_thresholds.get(label)
        if base is None:
            continue
        factor = settings.sensitivity * keen.get(phrase_commands.get(label, ""), 1.0)
        out[label] = min(0.99, base * factor)
    return out

