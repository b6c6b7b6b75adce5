"""WAV files in and out: the formats people and tools (sox, Audacity, phones) actually write."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from voiceguide.audio.clip import AudioFileError, read_wav, write_wav


def reference(rate: int = 16000, seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def test_our_own_wavs_round_trip(tmp_path: Path) -> None:
    x = reference()
    write_wav(tmp_path / "a.wav", x, 16000)
    clip = read_wav(tmp_path / "a.wav", text="hello", kind="say")
    assert clip.sample_rate == 16000 and clip.text == "hello"
    np.testing.assert_allclose(clip.samples, x, atol=1 / 16000)


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed")
@pytest.mark.parametrize(
    "options",
    [
        ["-b", "16", "-c", "2"],  # stereo 16-bit: sox writes WAVE_FORMAT_EXTENSIBLE
        ["-b", "24"],
        ["-b", "32", "-e", "signed-integer"],
        ["-b", "32", "-e", "floating-point"],
        ["-b", "8", "-e", "unsigned-integer"],
        ["-b", "16", "-c", "4"],
    ],
    ids=["stereo-extensible", "pcm24", "pcm32", "float32", "u8", "4ch"],
)
def test_formats_other_tools_write(tmp_path: Path, options: list[str]) -> None:
    src = tmp_path / "src.wav"
    write_wav(src, reference(), 16000)
    out = tmp_path / "out.wav"
    subprocess.run(["sox", str(src), *options, str(out)], check=True, capture_output=True, timeout=30)
    clip = read_wav(out)
    assert clip.sample_rate == 16000
    tolerance = 0.03 if "8" in options else 2e-4  # 8 bits: a step of 1/128, plus dither
    np.testing.assert_allclose(clip.samples[: 8000], reference()[: 8000], atol=tolerance)


def test_broken_files_are_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "text.wav").write_text("hello")
    with pytest.raises(AudioFileError, match="text.wav: not a RIFF/WAVE file"):
        read_wav(tmp_path / "text.wav")
    write_wav(tmp_path / "cut.wav", reference(), 16000)
    (tmp_path / "cut.wav").write_bytes((tmp_path / "cut.wav").read_bytes()[:30])
    with pytest.raises(AudioFileError, match="no 'fmt ' or 'data' chunk"):
        read_wav(tmp_path / "cut.wav")
    alaw = tmp_path / "alaw.wav"
    if shutil.which("sox"):
        write_wav(tmp_path / "src.wav", reference(), 16000)
        subprocess.run(["sox", str(tmp_path / "src.wav"), "-e", "a-law", str(alaw)], check=True, capture_output=True)
        with pytest.raises(AudioFileError, match="not supported"):
            read_wav(alaw)
