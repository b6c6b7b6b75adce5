"""The WAV-file speaker: the file follows the clock's timeline, with stop, pause and notices as on a device."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from voiceguide.audio.clip import Clip, read_wav
from voiceguide.audio.player import AudioSink, WavSink
from voiceguide.core.events import NowPlaying
from voiceguide.voice.cues import chime, tick

RATE = 16000


class VirtualClock:
    """A clock the test moves by hand (time is the one thing tests may fake)."""

    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def tone(seconds: float, text: str = "", level: float = 0.5) -> Clip:
    t = np.arange(int(seconds * RATE)) / RATE
    return Clip((level * np.sin(2 * np.pi * 500 * t)).astype(np.float32), RATE, text)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2))) if x.size else 0.0


def test_sound_lands_at_its_clock_time_with_silence_around_it(tmp_path: Path) -> None:
    clock = VirtualClock(100.0)
    out = tmp_path / "out.wav"
    notes: list[NowPlaying] = []
    sink = WavSink(out, clock, sample_rate=RATE, volume=1.0)
    assert isinstance(sink, AudioSink)
    sink.subscribe(notes.append)
    clock.t = 101.0
    sink.play(tone(0.5, "one"))
    clock.t = 103.0
    sink.advance_to(clock.t)
    sink.close()
    wav = read_wav(out)
    x = wav.samples
    assert wav.sample_rate == RATE and len(x) == 3 * RATE
    assert rms(x[: RATE - 10]) == 0.0
    assert rms(x[RATE : RATE + RATE // 2]) == pytest.approx(0.5 / np.sqrt(2), rel=0.02)
    assert rms(x[RATE + RATE // 2 + 10 :]) == 0.0
    assert [(n.state, n.start, n.end) for n in notes] == [
        ("started", pytest.approx(101.0), pytest.approx(101.5)),
        ("finished", pytest.approx(101.0), pytest.approx(101.5)),
    ]


def test_stop_at_a_clock_time_silences_the_file_from_there(tmp_path: Path) -> None:
    clock = VirtualClock(0.0)
    out = tmp_path / "out.wav"
    notes: list[NowPlaying] = []
    with WavSink(out, clock, sample_rate=RATE, volume=1.0) as sink:
        sink.subscribe(notes.append)
        item = sink.play(tone(3.0, "long"))
        sink.play(tone(1.0, "never"))
        clock.t = 1.25
        sink.stop()
        clock.t = 4.0
    x = read_wav(out).samples
    assert rms(x[: int(1.25 * RATE)]) > 0.3
    assert rms(x[int(1.26 * RATE) :]) == 0.0
    assert item.interrupted
    assert [n.state for n in notes] == ["started", "interrupted"]
    assert notes[-1].end == pytest.approx(1.255, abs=1e-3)


def test_pause_and_resume_follow_the_clock(tmp_path: Path) -> None:
    clock = VirtualClock(0.0)
    out = tmp_path / "out.wav"
    with WavSink(out, clock, sample_rate=RATE, volume=1.0) as sink:
        sink.play(tone(2.0, "step"))
        clock.t = 1.0
        sink.pause()
        clock.t = 3.0
        sink.resume()
        clock.t = 5.0
    x = read_wav(out).samples
    assert rms(x[: RATE]) > 0.3
    assert rms(x[int(1.01 * RATE) : 3 * RATE]) == 0.0
    assert rms(x[int(3.01 * RATE) : int(3.99 * RATE)]) > 0.3  # the second half, after the pause
    assert rms(x[int(4.01 * RATE) :]) == 0.0


def test_close_with_drain_writes_the_tail_and_cues_are_generated(tmp_path: Path) -> None:
    clock = VirtualClock(0.0)
    out = tmp_path / "out.wav"
    sink = WavSink(out, clock, sample_rate=RATE)
    sink.play(chime(RATE))
    sink.play(tick(RATE), overlay=True)
    assert sink.queued_seconds() == pytest.approx(0.9, abs=0.01)
    sink.close(drain=True)
    x = read_wav(out).samples
    assert len(x) >= int(0.9 * RATE)
    assert rms(x[: int(0.3 * RATE)]) > 0.02


def test_volume_steps_change_the_level_in_the_file(tmp_path: Path) -> None:
    clock = VirtualClock(0.0)
    out = tmp_path / "out.wav"
    with WavSink(out, clock, sample_rate=RATE, volume=0.8) as sink:
        sink.play(tone(4.0))
        clock.t = 1.0
        assert sink.quieter() == pytest.approx(0.7)
        sink.quieter()
        sink.quieter()
        clock.t = 2.0
        sink.louder()
        clock.t = 3.0
    x = read_wav(out).samples
    loud, quiet, middle = rms(x[: RATE]), rms(x[int(1.1 * RATE) : 2 * RATE]), rms(x[int(2.1 * RATE) : 3 * RATE])
    assert quiet / loud == pytest.approx(0.5 / 0.8, rel=0.02)
    assert middle / loud == pytest.approx(0.6 / 0.8, rel=0.02)


def test_realtime_sink_follows_the_wall_clock_by_itself(tmp_path: Path) -> None:
    out = tmp_path / "out.wav"
    notes: list[NowPlaying] = []
    sink = WavSink(out, time.monotonic, sample_rate=RATE, realtime=True)
    sink.subscribe(notes.append)
    item = sink.play(tone(0.3, "live"))
    assert item.done.wait(10)
    sink.close()
    assert [n.state for n in notes] == ["started", "finished"]
    x = read_wav(out).samples
    assert rms(x) > 0.05


def test_an_unwritable_path_is_one_clear_error(tmp_path: Path) -> None:
    from voiceguide.audio.clip import AudioFileError

    (tmp_path / "file").write_text("x")
    with pytest.raises(AudioFileError, match="cannot write WAV file"):
        WavSink(tmp_path / "file" / "out.wav", VirtualClock())
