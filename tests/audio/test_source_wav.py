"""WAV files as the microphone: any format in, 16 kHz mono int16 chunks out, fast or paced, with positions."""

from __future__ import annotations

import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from voiceguide.audio.clip import AudioFileError
from voiceguide.audio.source import AudioSource, WavFileSource
from voiceguide.core.sound import SAMPLE_RATE


def write_stereo_tone(path: Path, rate: int = 44100, seconds: float = 1.0, freq: float = 1000.0) -> None:
    t = np.arange(int(rate * seconds)) / rate
    left = 0.5 * np.sin(2 * np.pi * freq * t)
    stereo = np.stack([left, left], axis=1)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((stereo * 32767).astype("<i2").tobytes())


def test_fast_source_delivers_the_whole_file_at_16k_mono(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    write_stereo_tone(path, 44100, 1.5)
    source = WavFileSource(path, fast=True)
    assert isinstance(source, AudioSource)
    chunks = list(source)
    assert source.ended and source.read(0.1) is None
    audio = np.concatenate([c.samples for c in chunks])
    assert audio.dtype == np.int16 and source.sample_rate == SAMPLE_RATE
    assert len(audio) == pytest.approx(1.5 * SAMPLE_RATE, abs=2)
    # contiguous timeline: each chunk starts where the previous one ended
    assert chunks[0].start == 0.0
    assert all(a.end == pytest.approx(b.start) for a, b in zip(chunks, chunks[1:], strict=False))
    assert source.position == pytest.approx(chunks[-1].end) == pytest.approx(1.5, abs=1e-3)
    assert source.clock_time(0.75) == 0.75  # fast: the virtual clock is the file's position
    spectrum = np.abs(np.fft.rfft(audio.astype(np.float32)))
    assert np.fft.rfftfreq(len(audio), 1 / SAMPLE_RATE)[np.argmax(spectrum)] == pytest.approx(1000, abs=2)
    assert np.abs(audio).max() == pytest.approx(0.5 * 32767, rel=0.02)


def test_paced_source_never_runs_ahead_of_real_time(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    write_stereo_tone(path, 16000, 0.4)
    source = WavFileSource(path, fast=False, chunk_seconds=0.05)
    first = source.read()
    assert first is not None
    t0 = time.monotonic() - first.end
    for chunk in source:
        # released only once its last sample "has been spoken"
        assert time.monotonic() >= t0 + chunk.end - 0.005
        assert chunk.captured_at is not None
        assert source.clock_time(chunk.start) == pytest.approx(chunk.captured_at)
        assert source.stream_time(chunk.captured_at) == pytest.approx(chunk.start)
    assert source.position == pytest.approx(0.4)


def test_paced_read_with_a_short_timeout_returns_none_then_the_chunk(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    write_stereo_tone(path, 16000, 1.0)
    source = WavFileSource(path, chunk_seconds=0.5)
    assert source.read(timeout=0.01) is None
    assert source.position == 0.0
    chunk = source.read(timeout=5)
    assert chunk is not None and chunk.end == pytest.approx(0.5)


def test_close_ends_a_waiting_reader(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    write_stereo_tone(path, 16000, 10.0)
    source = WavFileSource(path, chunk_seconds=5.0)
    got: list[object] = []
    reader = threading.Thread(target=lambda: got.append(source.read()))
    reader.start()
    time.sleep(0.05)
    source.close()
    reader.join(timeout=5)
    assert not reader.is_alive() and got == [None] and source.ended


def test_a_file_that_is_not_a_wav_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio")
    with pytest.raises(AudioFileError, match="cannot read WAV file .*notes.wav"):
        WavFileSource(bad)
    with pytest.raises(AudioFileError, match="missing.wav"):
        WavFileSource(tmp_path / "missing.wav")
