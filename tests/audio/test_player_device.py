"""The speaker through real PortAudio streams on the virtual devices: play, stop, pause, volume, notices."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from voiceguide.audio.clip import Clip
from voiceguide.audio.devices import DeviceError
from voiceguide.audio.player import AudioSink, Player, PlayerSettings
from voiceguide.voice.narrator import Narrator, NarratorSettings

SENTENCE = "Place your fingertips between your brows and glide upward and outward to your hairline."


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Clip:
    with Narrator(NarratorSettings(cache_dir=tmp_path_factory.mktemp("cache"), language="en-US")) as n:
        return n.clip(SENTENCE)


@pytest.fixture
def player(virtual_audio: object):  # type: ignore[no-untyped-def]
    p = Player(PlayerSettings(device="vspeaker", volume=1.0))
    yield p
    p.close()


@pytest.mark.parametrize("channels", [None, 2])
def test_narration_reaches_the_speaker_intact(  # type: ignore[no-untyped-def]
    virtual_audio, capture, intact, notices, speech: Clip, channels: int | None
) -> None:
    player = Player(PlayerSettings(device="vspeaker", volume=1.0, channels=channels))
    try:
        _narration_reaches_the_speaker_intact(player, capture, intact, notices, speech)
    finally:
        player.close()


def _narration_reaches_the_speaker_intact(player: Player, capture, intact, notices, speech: Clip) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(player, AudioSink)
    player.subscribe(notices)
    with capture("vspeaker_mon") as cap:
        item = player.play(speech)
        assert item.done.wait(15)
        time.sleep(0.3)
    started, finished = notices.first("started"), notices.first("finished")
    # played to its end, not cut short; an underrun on a loaded machine may only stretch it (no upper bound:
    # wall-clock bounds belong to scripts/bench_audio.py, not to tests)
    assert started.text == SENTENCE and finished.end - started.start >= speech.duration - 0.05
    heard, _ = cap.samples()
    ok, pieces = intact(heard, speech.at_rate(cap.rate).samples, cap.rate)
    assert ok, pieces


def test_stop_silences_the_speaker_and_nothing_queued_plays(player: Player, capture, notices, speech: Clip) -> None:  # type: ignore[no-untyped-def]
    player.subscribe(notices)
    with capture("vspeaker_mon") as cap:
        first = player.play(speech)
        second = player.play(speech)
        notices.first("started")
        time.sleep(1.0)
        t_stop = time.monotonic()
        player.stop()
        assert first.done.wait(2) and second.done.wait(2)
        time.sleep(1.0)
    assert first.interrupted and second.interrupted
    assert cap.rms_between(t_stop - 0.8, t_stop) > 0.02  # it was speaking
    assert cap.rms_between(t_stop + 0.25, t_stop + 0.95) < 0.002  # and then it was not
    cut = notices.first("interrupted")
    assert cut.end - t_stop < 0.25
    assert not player.busy and player.wait_idle(1)


def test_pause_is_silent_and_resume_continues(player: Player, capture, speech: Clip) -> None:  # type: ignore[no-untyped-def]
    with capture("vspeaker_mon") as cap:
        item = player.play(speech)
        time.sleep(1.0)
        t_pause = time.monotonic()
        player.pause()
        time.sleep(1.0)
        t_resume = time.monotonic()
        player.resume()
        assert item.done.wait(15)
        t_end = time.monotonic()
        time.sleep(0.3)
    assert not item.interrupted
    assert cap.rms_between(t_pause + 0.25, t_resume) < 0.002
    assert cap.rms_between(t_resume, t_end) > 0.02
    # the whole sentence was played, split in two: nothing skipped, nothing repeated
    assert t_end - t_resume == pytest.approx(speech.duration - 1.0, abs=0.3)


def test_quieter_is_quieter_at_the_speaker(player: Player, capture) -> None:  # type: ignore[no-untyped-def]
    rate = player.sample_rate
    t = np.arange(int(0.6 * rate)) / rate
    beep = Clip((0.4 * np.sin(2 * np.pi * 700 * t)).astype(np.float32), rate, "beep", "cue")
    levels = []
    with capture("vspeaker_mon") as cap:
        for step in range(2):
            t0 = time.monotonic()
            assert player.play(beep).done.wait(5)
            time.sleep(0.2)
            levels.append(cap.rms_between(t0, time.monotonic()))
            if step == 0:
                for _ in range(5):
                    player.quieter()
    assert player.volume == pytest.approx(0.5)
    assert levels[1] / levels[0] == pytest.approx(0.5, rel=0.15)


def test_an_unknown_output_device_names_the_ones_that_exist(virtual_audio: object) -> None:
    with pytest.raises(DeviceError, match="no output device named 'loudspeaker'.*vspeaker"):
        Player(PlayerSettings(device="loudspeaker"))


def test_the_speaker_clock_is_the_one_given(virtual_audio: object, notices: Any, tmp_path: Path) -> None:
    origin = time.monotonic()
    player = Player(PlayerSettings(device="vspeaker"), clock=lambda: time.monotonic() - origin)
    player.subscribe(notices)
    try:
        rate = player.sample_rate
        player.play(Clip(np.full(rate // 10, 0.1, np.float32), rate, "x"))
        started = notices.first("started")
        assert 0.0 <= started.start < 5.0  # seconds since origin, not since boot
    finally:
        player.close()


def test_the_speaker_reports_a_sentence_narrated_after_the_device_played_it(  # type: ignore[no-untyped-def]
    player: Player, capture, tmp_path: Path
) -> None:
    from voiceguide.core.events import Say
    from voiceguide.voice.speaker import Speaker

    done = threading.Event()
    heard_at: list[float] = []
    with Narrator(NarratorSettings(cache_dir=tmp_path, language="en-US")) as narrator:
        speaker = Speaker(narrator, player, lambda say: (heard_at.append(time.monotonic()), done.set()))
        with capture("vspeaker_mon") as cap:
            t0 = time.monotonic()
            speaker.handle(Say("Relax your shoulders.", 0.0))
            assert done.wait(10)
            time.sleep(0.2)
    duration = narrator.clip("Relax your shoulders.").duration
    assert heard_at[0] - t0 >= duration - 0.05  # reported after it was played, not when queued
    assert cap.rms_between(t0, heard_at[0]) > 0.02


def test_a_speaker_that_disappears_is_reported_and_comes_back(virtual_audio, capture, statuses) -> None:  # type: ignore[no-untyped-def]
    player = Player(PlayerSettings(device="vspeaker", stall_seconds=2.5, retry_seconds=0.5), on_status=statuses)
    try:
        rate = player.sample_rate
        t = np.arange(int(5 * rate)) / rate
        long_tone = Clip((0.3 * np.sin(2 * np.pi * 500 * t)).astype(np.float32), rate, "long", "cue")
        item = player.play(long_tone)
        time.sleep(0.3)
        virtual_audio.down()
        assert statuses.reach(["lost"], timeout=10), statuses.items
        assert statuses.items[0].direction == "output" and player.lost
        assert item.done.wait(2) and item.interrupted  # what could not be heard is dropped, and said so
        virtual_audio.up()
        assert statuses.reach(["lost", "restored"], timeout=20), statuses.items
        assert not player.lost
        with capture("vspeaker_mon") as cap:  # and it really plays again
            t0 = time.monotonic()
            assert player.play(Clip(long_tone.samples[: rate // 2], rate, "again", "cue")).done.wait(5)
            time.sleep(0.2)
            assert cap.rms_between(t0, time.monotonic()) > 0.05
    finally:
        player.close()
        virtual_audio.up()
