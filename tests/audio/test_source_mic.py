"""The microphone through real PortAudio streams: speech played into vmic_feed comes out of vmic at 16 kHz."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest

from voiceguide.audio.clip import Clip
from voiceguide.audio.devices import DeviceError
from voiceguide.audio.player import Player, PlayerSettings
from voiceguide.audio.source import AudioChunk, AudioSource, MicSettings, MicSource
from voiceguide.core.sound import SAMPLE_RATE
from voiceguide.voice.narrator import Narrator, NarratorSettings


@pytest.fixture(scope="module")
def said_next(tmp_path_factory: pytest.TempPathFactory) -> Clip:
    with Narrator(NarratorSettings(cache_dir=tmp_path_factory.mktemp("cache"), language="en-US")) as n:
        return n.clip("Next. Pause. Resume.")


class Reader:
    """Reads a source on its own thread, as the recognizer will."""

    def __init__(self, source: MicSource) -> None:
        self.source = source
        self.chunks: list[AudioChunk] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.source.ended:
            chunk = self.source.read(0.2)
            if chunk is not None:
                self.chunks.append(chunk)

    def audio(self) -> np.ndarray:
        return np.concatenate([c.samples for c in list(self.chunks)]).astype(np.float32) / 32768.0


@pytest.mark.parametrize(("rate", "channels"), [(None, None), (16000, 2)])
def test_speech_into_the_virtual_mic_arrives_resampled_to_16k(virtual_audio: object, said_next: Clip, intact: Any,
                                                              rate: int | None, channels: int | None) -> None:
    feed = Player(PlayerSettings(device="vmic_feed", volume=1.0))
    mic = MicSource(MicSettings(device="vmic", sample_rate=rate, channels=channels))
    assert isinstance(mic, AudioSource)
    try:
        if rate is None:
            assert mic.device_rate == mic.device.default_samplerate != SAMPLE_RATE  # soxr converts
        else:
            assert mic.device_rate == SAMPLE_RATE  # nothing to convert
        reader = Reader(mic)
        time.sleep(0.3)
        assert feed.play(said_next).done.wait(10)
        time.sleep(0.5)
    finally:
        mic.close()
        feed.close()
    reader.thread.join(timeout=5)
    chunks = reader.chunks
    assert all(c.samples.dtype == np.int16 for c in chunks)
    assert all(a.end == pytest.approx(b.start) for a, b in zip(chunks, chunks[1:], strict=False))
    assert all(c.captured_at is not None for c in chunks)
    # stream time maps onto the clock the Player's notices use (monotonic), within a block or two
    first = chunks[0]
    assert mic.clock_time(first.start) == pytest.approx(first.captured_at, abs=0.1)
    assert mic.stream_time(mic.clock_time(1.25)) == pytest.approx(1.25)
    heard = reader.audio()
    ok, pieces = intact(heard, said_next.at_rate(SAMPLE_RATE).samples, SAMPLE_RATE)
    assert ok, pieces
    assert mic.overflows == 0


def test_a_slow_reader_loses_blocks_that_are_counted_not_fatal(virtual_audio: object) -> None:
    mic = MicSource(MicSettings(device="vmic", queue_seconds=0.1))
    try:
        time.sleep(0.6)  # nobody reads: the queue fills and the callback drops, never blocks
        assert mic.overflows > 0
        chunk = mic.read(timeout=2)
        assert chunk is not None and chunk.samples.size > 0
    finally:
        mic.close()
    assert mic.ended and mic.read(timeout=0.1) is None


def test_an_unknown_input_device_names_the_ones_that_exist(virtual_audio: object) -> None:
    with pytest.raises(DeviceError, match="no input device named 'usb mic'.*vmic"):
        MicSource(MicSettings(device="usb mic"))


def test_a_microphone_that_disappears_is_reported_and_comes_back(  # type: ignore[no-untyped-def]
    virtual_audio, said_next: Clip, statuses, intact
) -> None:
    mic = MicSource(MicSettings(device="vmic", stall_seconds=2.5, retry_seconds=0.5), on_status=statuses)
    reader = Reader(mic)
    try:
        time.sleep(0.5)
        virtual_audio.down()  # the sound server (and with it the device) is gone
        assert statuses.reach(["lost"], timeout=10), statuses.items
        assert mic.lost
        virtual_audio.up()
        assert statuses.reach(["lost", "restored"], timeout=20), statuses.items
        assert not mic.lost and mic.losses == 1
        # and it really listens again: speech played now is heard
        before = len(reader.chunks)
        feed = Player(PlayerSettings(device="vmic_feed", volume=1.0))
        try:
            assert feed.play(said_next).done.wait(10)
            time.sleep(0.5)
        finally:
            feed.close()
        heard = np.concatenate([c.samples for c in reader.chunks[before:]]).astype(np.float32) / 32768.0
        ok, pieces = intact(heard, said_next.at_rate(SAMPLE_RATE).samples, SAMPLE_RATE)
        assert ok, pieces
    finally:
        mic.close()
        virtual_audio.up()
