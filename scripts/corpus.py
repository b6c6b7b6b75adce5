"""Real audio for the recognition tests and the tuning/bench scripts: espeak-ng speech, the workspace corpus.

The corpus (human command clips and noise) is not in the repository: it is looked for in `$VOICEGUIDE_CORPUS`,
else in `shared/corpus` beside the checkout; `corpus_available()` says whether it is there, so a clone
without it skips what needs it.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import wave
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voiceguide.audio.clip import resample

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("VOICEGUIDE_CORPUS") or ROOT.parent / "shared" / "corpus")
RATE = 16000


def corpus_available() -> bool:
    """Whether the human clips and noise are here (a stranger's clone has no corpus beside it)."""
    return (CORPUS / "speech-commands" / "manifest.csv").is_file() and (CORPUS / "noise").is_dir()


def espeak(text: str, voice: str = "en-us", speed: int = 160, pitch: int = 50) -> np.ndarray:
    """`text` spoken by espeak-ng, as 16 kHz int16."""
    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text],
                         check=True, capture_output=True, timeout=60).stdout
    with wave.open(io.BytesIO(wav)) as w:
        rate = w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
    return (np.clip(resample(data, rate, RATE), -1, 1) * 32767).astype(np.int16)


def silence(seconds: float) -> np.ndarray:
    """`seconds` of digital silence at 16 kHz, to space test speech."""
    return np.zeros(int(seconds * RATE), dtype=np.int16)


def read16(path: Path) -> np.ndarray:
    """A 16 kHz mono corpus WAV as int16 (the corpus is stored at that rate)."""
    with wave.open(str(path)) as w:
        assert w.getframerate() == RATE and w.getnchannels() == 1
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").copy()


@dataclass(frozen=True)
class CorpusClip:
    """One human clip of the speech-commands corpus, with its word and its speaker's hash."""

    path: Path
    word: str
    speaker: str

    @property
    def split(self) -> str:
        """'tune' or 'test', by a hash of the speaker, so no speaker is in both."""
        return "tune" if zlib.crc32(self.speaker.encode()) % 2 == 0 else "test"


def corpus_clips() -> list[CorpusClip]:
    """Every clip in the corpus manifest (tuning and held-out speakers alike)."""
    if not corpus_available():
        raise FileNotFoundError(f"the speech corpus is not at {CORPUS}: set VOICEGUIDE_CORPUS to its folder")
    base = CORPUS / "speech-commands"
    with open(base / "manifest.csv", newline="") as f:
        return [CorpusClip(CORPUS / r["path"], r["word"], r["speaker"]) for r in csv.DictReader(f)]


def held_out_clips() -> list[CorpusClip]:
    """The clips of the speakers nothing was tuned or trained on (MLLR transform, verifier, thresholds)."""
    return [c for c in corpus_clips() if c.split == "test"]


def mix(speech: np.ndarray, noise: np.ndarray, snr_db: float, offset: int = 0) -> np.ndarray:
    """Speech plus a stretch of noise scaled to the given SNR (speech power measured where it is loud)."""
    s = speech.astype(np.float64)
    n = np.resize(np.roll(noise.astype(np.float64), -offset), len(s))
    frames = s[: len(s) // 160 * 160].reshape(-1, 160)
    energy = (frames**2).mean(axis=1)
    loud = energy[energy >= np.percentile(energy, 50)] if len(energy) else np.array([1.0])
    p_s = float(loud.mean()) or 1.0
    p_n = float((n**2).mean()) or 1.0
    out = s + n * np.sqrt(p_s / (p_n * 10 ** (snr_db / 10)))
    return np.clip(out, -32768, 32767).astype(np.int16)


def decode(recognizer, samples: np.ndarray, chunk: int = 320) -> list:
    """Feed a recognizer in real-time-sized chunks, then flush; all it heard."""
    recognizer.reset()
    out = []
    for i in range(0, len(samples), chunk):
        out.extend(recognizer.feed(samples[i : i + chunk]))
    out.extend(recognizer.flush())
    return out


def pack_narration(pack) -> list[str]:
    """Every sentence a pack's narration says, in order (intro, safety, steps and their stroke groups, closing)."""
    from voiceguide.packs.schema import sentences

    out: list[str] = []
    for block in (pack.intro, pack.safety):
        if block is not None:
            out.extend(sentences(block.say))
    for step in pack.steps:
        out.extend(sentences(step.say))
        for group in step.strokes or []:
            out.extend(sentences(getattr(group, "say", None)))
    if pack.closing is not None:
        out.extend(sentences(pack.closing.say))
    return [s for s in out if s.strip()]


def narration_audio(texts: list[str], voice: str = "en-us", speed: int = 160, gap: float = 0.4):
    """The sentences spoken one after another, and each one's (text, start, end) in seconds."""
    parts, spans, t = [silence(0.3)], [], 0.3
    for text in texts:
        a = espeak(text, voice, speed)
        spans.append((text, t, t + len(a) / RATE))
        parts += [a, silence(gap)]
        t += len(a) / RATE + gap
    return np.concatenate(parts), spans
