"""The `Recognizer` protocol every engine honours in full, its settings and errors (engines: factory.py).

Audio in: 16 kHz mono int16 samples, any chunk size, with their stream position. Out: `Heard` events whose
`command` is set only when the engine is confident the person said a command phrase allowed right now.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from voiceguide.core.commands import Command
from voiceguide.core.events import Heard

__all__ = [
    "ENGINES",
    "EngineUnavailable",
    "RecognitionSettings",
    "Recognizer",
    "as_int16",
]

ENGINES = ("auto", "vosk", "keywords", "pocketsphinx")


class EngineUnavailable(Exception):
    """The asked-for engine cannot run here (package or model missing); the message says what to do."""


@dataclass(frozen=True)
class RecognitionSettings:
    """How commands are heard; built once from the CLI/config and passed in."""

    engine: str = "auto"
    """'auto' (vosk when a model for the language is installed, else for English the keyword model), 'vosk',
    'keywords' (the bundled streaming keyword model, English) or 'pocketsphinx' (English)."""
    language: str = "en"
    """BCP-47 tag of the pack; picks the vosk model and the vocabulary."""
    model: Path | None = None
    """An explicit vosk model folder (--model)."""
    min_confidence: float = 0.6
    """vosk: the lowest word confidence a command may have (models with [unk])."""
    min_confidence_no_unk: float = 0.9
    """vosk: the same for models without an [unk] word, where confidence is the only rejection."""
    stable_partials: int = 2
    """vosk: a one-word command acts when this many partial results in a row say it (not waiting for the end)."""
    quiet_seconds: float = 0.25
    """vosk: this much non-speech after speech ends the utterance and gives its result."""
    decoys: int = 150
    """pocketsphinx: how many frequent English words compete with the commands (more: rejects more, accepts less)."""
    decoy_weight: float = 1.0
    """pocketsphinx: prior weight of the decoys against the commands; acoustic scores dwarf it down to ~1e-10."""
    vad_window: float = 0.45
    """pocketsphinx: seconds of non-speech that end an utterance (the main part of its latency)."""
    vad_mode: int = 2
    """WebRTC voice-activity aggressiveness 0-3 (one of the two tests a speech frame must pass)."""
    vad_margin_db: float = 7.0
    """How far above the recent noise floor a frame must be to count as speech."""
    early_seconds: float = 0.12
    """pocketsphinx: after this much quiet inside an utterance, decide on it already (0: wait for the endpoint)."""
    early_max_seconds: float = 0.8
    """pocketsphinx: only stretches of speech up to this long are decided early."""
    edge_seconds: float = 0.15
    """pocketsphinx: audio decoded after what the segmenter calls speech (it trims word edges)."""
    lead_seconds: float = 0.6
    """pocketsphinx: audio decoded before the speech; background there steadies the decoder in noise."""
    dither: float = 20.0
    """pocketsphinx: standard deviation (int16 steps) of the faint noise added before decoding."""
    silprob: float = 0.1
    """pocketsphinx: silence insertion probability."""
    pip: float = 0.5
    """pocketsphinx: phone insertion penalty."""
    denoise: bool = False
    """pocketsphinx: clean the audio with RNNoise first (needs pyrnnoise; with the verifier on, it costs:
    denoise.py)."""
    adapted: bool = True
    """pocketsphinx: apply the MLLR transform shipped in voiceguide/speech/data (fits the model to room mics)."""
    mllr: Path | None = None
    """pocketsphinx: another MLLR transform file to apply instead (scripts/adapt_sphinx.py makes one)."""
    verify: bool = True
    """pocketsphinx: check each utterance with the speech-embedding command classifier (verifier.py; onnxruntime)."""
    verifier: Path | None = None
    """pocketsphinx: another classifier file to verify with instead of the bundled one (scripts/train_verifier.py)."""
    sphinx_options: tuple[tuple[str, str], ...] = ()
    """pocketsphinx: extra decoder options as (name, value) pairs, e.g. (("topn", "8"),); the model's feat.params
    fixes the front end (remove_noise, cmn…), which these cannot change."""
    keywords: Path | None = None
    """English without vosk: another keyword model file instead of the bundled one (scripts/train_keywords.py)."""
    keyword_sensitivity: float = 1.0
    """English without vosk: scales the keyword model's thresholds (lower hears more, and more talk)."""
    keyword_confirm: bool = True
    """English without vosk: below `keyword_alone`, pocketsphinx must decode the same command before the keyword
    model's is acted on."""
    keyword_alone: float = 0.97
    """English without vosk, with `keyword_confirm`: the keyword model's probability that needs no second opinion."""
    keyword_quiet_rms: float = 40.0
    """English without vosk: while the last two seconds stayed under this RMS (int16 units, about -58 dBFS), the
    keyword network is not run (nothing to hear; saves most of its CPU in a quiet room or behind the canceller)."""
    max_command_seconds: float = 2.5
    """Longer stretches of speech are talk, not a command, and are ignored."""
    env: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    """Environment to look models up in (the caller passes os.environ; tests pass their own)."""


@runtime_checkable
class Recognizer(Protocol):
    """Audio in, `Heard` out; the session narrows the commands to what makes sense in its state."""

    engine: str

    def feed(self, samples: np.ndarray | bytes, start: float | None = None) -> list[Heard]:
        """Take a chunk (`start`: its stream position in seconds; None: right after the previous chunk)."""
        ...

    def flush(self) -> list[Heard]:
        """End of the stream: decide on what is still pending."""
        ...

    def set_commands(self, commands: Iterable[Command]) -> None:
        """Listen only for these commands from now on (the model is not reloaded)."""
        ...

    def reset(self) -> None:
        """Forget pending audio and restart the stream clock at 0."""
        ...


def as_int16(samples: np.ndarray | bytes) -> np.ndarray:
    """Whatever a source hands over (int16 bytes, int16 or float arrays) as a 1-D int16 array."""
    if isinstance(samples, (bytes, bytearray, memoryview)):
        return np.frombuffer(bytes(samples), dtype="<i2")
    arr = np.asarray(samples)
    if arr.ndim > 1:
        arr = arr.reshape(len(arr), -1).mean(axis=1)
    if arr.dtype == np.int16:
        return arr
    if np.issubdtype(arr.dtype, np.floating):
        scaled: np.ndarray = (np.clip(arr, -1.0, 1.0) * 32767.0).astype(np.int16)
        return scaled
    clipped: np.ndarray = np.clip(arr, -32768, 32767).astype(np.int16)
    return clipped
