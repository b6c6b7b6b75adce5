"""The session's outputs become sound: Say → cached narration, Cue → chime/tick, Silence → stop, Volume → level."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from voiceguide.audio.clip import read_wav
from voiceguide.audio.player import WavSink
from voiceguide.core.events import Cue, Say, Silence, StateChanged, Volume
from voiceguide.voice.base import VoiceError
from voiceguide.voice.narrator import Narrator, NarratorSettings
from voiceguide.voice.speaker import Speaker

RATE = 16000


class VirtualClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def narrator(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with Narrator(NarratorSettings(cache_dir=tmp_path_factory.mktemp("cache"), language="en-US")) as n:
        yield n


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2))) if x.size else 0.0


def test_a_sentence_is_played_and_reported_narrated_at_its_end(narrator: Narrator, tmp_path: Path) -> None:
    clock = VirtualClock()
    narrated: list[tuple[float, Say]] = []
    sink = WavSink(tmp_path / "out.wav", clock, sample_rate=RATE)
    speaker = Speaker(narrator, sink, lambda s: narrated.append((clock.t, s)),
                      prefetch=["Glide up eight times.", "Well done."])
    say = Say("Glide up eight times.", 0.0)
    speaker.handle(StateChanged("step", 0.0))  # ignored
    speaker.handle(Cue("chime", 0.0))
    speaker.handle(say)
    assert narrator.wait_prefetched(30) and narrator.is_cached("Well done.")  # rendered ahead
    duration = narrator.clip(say.text).duration
    clock.t = 0.9 + duration - 0.05
    sink.advance_to(clock.t)
    assert narrated == []  # not yet: the chime plays first, then the sentence
    clock.t = 0.9 + duration + 0.05
    sink.advance_to(clock.t)
    assert [s for _, s in narrated] == [say]
    sink.close()
    x = read_wav(tmp_path / "out.wav").samples
    assert rms(x[: int(0.3 * RATE)]) > 0.02  # the chime
    assert rms(x[int(1.0 * RATE) : int((0.9 + duration) * RATE)]) > 0.02  # the speech after it


def test_silence_cuts_the_sentence_and_it_is_never_reported(narrator: Narrator, tmp_path: Path) -> None:
    clock = VirtualClock()
    narrated: list[Say] = []
    sink = WavSink(tmp_path / "out.wav", clock, sample_rate=RATE)
    speaker = Speaker(narrator, sink, narrated.append)
    speaker.handle(Say("Place your fingertips between your brows and glide upward.", 0.0))
    clock.t = 1.0
    speaker.handle(Silence(1.0))
    clock.t = 6.0
    sink.close()
    assert narrated == []
    x = read_wav(tmp_path / "out.wav").samples
    assert rms(x[: RATE]) > 0.02 and rms(x[int(1.01 * RATE) :]) == 0.0


def test_a_sentence_said_again_right_after_a_cut_is_reported(narrator: Narrator, tmp_path: Path) -> None:
    """Issue 13: "repeat" mid-sentence is Silence then the same sentence; the new one must end and be reported."""
    clock = VirtualClock()
    narrated: list[Say] = []
    sink = WavSink(tmp_path / "out.wav", clock, sample_rate=RATE)
    speaker = Speaker(narrator, sink, narrated.append)
    text = "Place your fingertips between your brows and glide upward."
    speaker.handle(Say(text, 0.0))
    clock.t = 1.0
    sink.advance_to(clock.t)
    again = Say(text, 1.0)
    speaker.handle(Silence(1.0))
    speaker.handle(again)
    clock.t = 1.0 + narrator.clip(text).duration + 0.1
    sink.advance_to(clock.t)
    assert narrated == [again]
    sink.close()


def test_ticks_keep_the_beat_over_narration_and_volume_requests_apply(narrator: Narrator, tmp_path: Path) -> None:
    clock = VirtualClock()
    sink = WavSink(tmp_path / "out.wav", clock, sample_rate=RATE, volume=0.5)
    speaker = Speaker(narrator, sink)
    speaker.handle(Say("Breathe in slowly and deeply.", 0.0))
    clock.t = 0.5
    speaker.handle(Cue("tick", 0.5))
    assert sink.queued_seconds() > 0  # the sentence still plays
    speaker.handle(Volume(+1, 0.5))
    assert sink.volume == pytest.approx(0.6)
    speaker.handle(Volume(-1, 0.5))
    speaker.handle(Volume(-1, 0.5))
    assert sink.volume == pytest.approx(0.4)
    sink.close(drain=True)
    with wave.open(str(tmp_path / "out.wav")) as w:
        assert w.getnframes() > RATE


def test_a_pack_sound_is_played_and_a_missing_one_falls_back_to_a_tick(narrator: Narrator, tmp_path: Path) -> None:
    from voiceguide.audio.clip import write_wav

    t = np.arange(int(0.1 * 44100)) / 44100
    write_wav(tmp_path / "knock.wav", (0.5 * np.sin(2 * np.pi * 300 * t)).astype(np.float32), 44100)
    clock = VirtualClock()
    sink = WavSink(tmp_path / "out.wav", clock, sample_rate=RATE)
    speaker = Speaker(narrator, sink, sounds_dir=tmp_path)
    speaker.handle(Cue("knock.wav", 0.0))
    speaker.handle(Cue("missing.wav", 0.0))
    clock.t = 0.5
    sink.close()
    x = read_wav(tmp_path / "out.wav").samples
    assert rms(x[: int(0.1 * RATE)]) > 0.1


def test_a_blank_sentence_is_narrated_at_once(narrator: Narrator, tmp_path: Path) -> None:
    narrated: list[Say] = []
    sink = WavSink(tmp_path / "out.wav", VirtualClock(), sample_rate=RATE)
    speaker = Speaker(narrator, sink, narrated.append)
    speaker.handle(Say("  ", 0.0))
    assert len(narrated) == 1
    sink.close()


def test_counts_stay_on_the_beat_when_beats_are_shorter_than_the_words(narrator: Narrator, tmp_path: Path) -> None:
    from voiceguide.core.events import NowPlaying

    clock = VirtualClock()
    notes: list[NowPlaying] = []
    sink = WavSink(tmp_path / "out.wav", clock, sample_rate=RATE)
    sink.subscribe(notes.append)
    speaker = Speaker(narrator, sink)
    beat = 0.3  # "3, up and out" takes longer than a beat at the fastest tempo
    for i in range(1, 6):
        clock.t = (i - 1) * beat
        speaker.handle(Say(f"{i}, up and out", clock.t, kind="count"))
    clock.t = 5.0
    sink.close()
    started = [n for n in notes if n.state == "started"]
    # every count starts on its own beat (not queued behind the previous one)
    # (a count cut short fades out over 5 ms before the next one starts)
    assert [n.start for n in started] == pytest.approx([0.0, 0.3, 0.6, 0.9, 1.2], abs=0.006)
    assert [n.state for n in notes if n.text == "1, up and out"] == ["started", "interrupted"]


def test_trim_tail_keeps_the_speech_and_drops_the_trailing_silence(narrator: Narrator) -> None:
    from voiceguide.voice.speaker import trim_tail

    clip = narrator.clip("Seven")
    trimmed = trim_tail(clip)
    assert clip.duration - trimmed.duration > 0.2  # espeak leaves ~0.4 s of silence after a word
    assert rms(trimmed.samples) > rms(clip.samples)
    np.testing.assert_array_equal(trimmed.samples, clip.samples[: len(trimmed.samples)])


def test_a_sentence_the_engine_cannot_make_does_not_stall_the_session(tmp_path: Path) -> None:
    from voiceguide.voice.pyttsx3_voice import Pyttsx3Voice

    broken = Pyttsx3Voice(python=str(tmp_path / "no-such-python"), timeout=5)
    narrated: list[Say] = []
    with Narrator(NarratorSettings(cache_dir=tmp_path), voice=broken) as n:
        sink = WavSink(tmp_path / "out.wav", VirtualClock(), sample_rate=RATE)
        with pytest.raises(VoiceError, match="cannot start the pyttsx3 worker"):
            n.render("Hello there.")
        Speaker(n, sink, narrated.append).handle(Say("Hello there.", 0.0))
        sink.close()
    assert [s.text for s in narrated] == ["Hello there."]
