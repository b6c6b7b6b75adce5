"""Mono audio in memory (a `Clip`), WAV files in and out, and resampling: the currency of the audio side."""

from __future__ import annotations

import os
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Clip", "AudioFileError", "read_wav", "write_wav", "to_mono", "resample", "to_int16"]


class AudioFileError(Exception):
    """A WAV file that cannot be read or written; the message names the file."""


@dataclass(frozen=True, eq=False)
class Clip:
    """A sound to play: mono float32 samples in [-1, 1], their rate, and what it says (for the echo guard)."""

    samples: np.ndarray
    sample_rate: int
    text: str = ""
    kind: str = "say"
    """'say', 'count', 'cue', 'hint' (as in `events.Say.kind`) or 'chime'/'tick' for generated cues."""

    @property
    def duration(self) -> float:
        """Seconds of audio."""
        return len(self.samples) / self.sample_rate

    def at_rate(self, sample_rate: int) -> Clip:
        """The same clip at another sample rate (itself when the rate already matches)."""
        if sample_rate == self.sample_rate:
            return self
        return Clip(resample(self.samples, self.sample_rate, sample_rate), sample_rate, self.text, self.kind)


def to_mono(samples: np.ndarray) -> np.ndarray:
    """Average the channels of a (frames, channels) array; a 1-D array is returned as is."""
    if samples.ndim == 1:
        return samples
    return samples.mean(axis=1, dtype=np.float32) if samples.shape[1] > 1 else samples[:, 0]


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample mono float32 audio with soxr (high quality, fast enough for whole sentences)."""
    if from_rate == to_rate or len(samples) == 0:
        return np.asarray(samples, dtype=np.float32)
    try:
        import soxr
    except ImportError as exc:  # pragma: no cover - soxr is a core dependency
        raise RuntimeError("resampling needs the 'soxr' package: pip install soxr") from exc
    return np.asarray(soxr.resample(np.asarray(samples, dtype=np.float32), from_rate, to_rate), dtype=np.float32)


def to_int16(samples: np.ndarray) -> np.ndarray:
    """float32 in [-1, 1] → int16, clipped."""
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)


_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE


def _parse_riff(raw: bytes) -> tuple[int, int, int, int, bytes]:
    """(format, channels, rate, bits, data) of a RIFF/WAVE file: PCM, IEEE float, or their extensible form."""
    if len(raw) < 12 or raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    pos, fmt, data = 12, None, None
    while pos + 8 <= len(raw):
        cid, size = raw[pos : pos + 4], int.from_bytes(raw[pos + 4 : pos + 8], "little")
        body = raw[pos + 8 : pos + 8 + size]
        if cid == b"fmt ":
            fmt = body
        elif cid == b"data":
            data = body
        pos += 8 + size + (size & 1)
    if fmt is None or len(fmt) < 16 or data is None:
        raise ValueError("no 'fmt ' or 'data' chunk")
    tag = int.from_bytes(fmt[0:2], "little")
    channels = int.from_bytes(fmt[2:4], "little")
    rate = int.from_bytes(fmt[4:8], "little")
    bits = int.from_bytes(fmt[14:16], "little")
    if tag == _EXTENSIBLE and len(fmt) >= 26:
        tag = int.from_bytes(fmt[24:26], "little")  # the sub-format GUID starts with the plain tag
    if channels < 1 or rate < 1:
        raise ValueError(f"{channels} channels at {rate} Hz")
    return tag, channels, rate, bits, data


def read_wav(path: str | Path, text: str = "", kind: str = "say") -> Clip:
    """Read a WAV file (8/16/24/32-bit PCM or 32/64-bit float, any channels, plain or extensible) as mono float32."""
    path = Path(path)
    try:
        tag, channels, rate, bits, raw = _parse_riff(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise AudioFileError(f"cannot read WAV file {path}: {exc}") from exc
    if tag == _PCM and bits == 16:
        data = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0
    elif tag == _PCM and bits == 32:
        data = np.frombuffer(raw[: len(raw) // 4 * 4], dtype="<i4").astype(np.float32) / 2147483648.0
    elif tag == _PCM and bits == 24:
        b = np.frombuffer(raw[: len(raw) // 3 * 3], dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        ints = (b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)) << 8 >> 8  # sign-extend
        data = ints.astype(np.float32) / 8388608.0
    elif tag == _PCM and bits == 8:
        data = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif tag == _FLOAT and bits in (32, 64):
        dtype = "<f4" if bits == 32 else "<f8"
        data = np.frombuffer(raw[: len(raw) // (bits // 8) * (bits // 8)], dtype=dtype).astype(np.float32)
    else:
        raise AudioFileError(f"cannot read WAV file {path}: format {tag} with {bits}-bit samples is not supported"
                             " (use PCM or float WAV)")
    if channels > 1:
        data = data[: len(data) - len(data) % channels].reshape(-1, channels)
    return Clip(to_mono(data).astype(np.float32, copy=False), rate, text, kind)


def write_wav(path: str | Path, samples: np.ndarray, sample_rate: int, *, atomic: bool = True) -> None:
    """Write mono 16-bit PCM; with `atomic`, readers never see a half-written file."""
    path = Path(path)
    pcm = samples if samples.dtype == np.int16 else to_int16(samples)
    path.parent.mkdir(parents=True, exist_ok=True)
    target = path
    if atomic:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".wav", dir=path.parent)
        os.close(fd)
        target = Path(tmp)
    try:
        with wave.open(str(target), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(int(sample_rate))
            wav.writeframes(np.ascontiguousarray(pcm).tobytes())
        if atomic:
            os.replace(target, path)
    except OSError as exc:
        if atomic:
            target.unlink(missing_ok=True)
        raise AudioFileError(f"cannot write WAV file {path}: {exc}") from exc
