"""The mixer that both sinks share: exact samples, gapless queue, overlays, stop, pause, volume, notices."""

from __future__ import annotations

import numpy as np
import pytest

from voiceguide.audio.clip import Clip
from voiceguide.audio.mixer import Mixer
from voiceguide.core.events import NowPlaying

RATE = 8000


def tone(seconds: float, freq: float = 440.0, text: str = "", level: float = 0.5) -> Clip:
    t = np.arange(int(seconds * RATE)) / RATE
    return Clip((level * np.sin(2 * np.pi * freq * t)).astype(np.float32), RATE, text)


def run(mixer: Mixer, seconds: float, t0: float = 0.0, block: int = 80) -> tuple[np.ndarray, list[NowPlaying]]:
    """Pull `seconds` of audio in blocks, as a device callback would."""
    out, notes = [], []
    n = int(seconds * RATE)
    pos = 0
    while pos < n:
        k = min(block, n - pos)
        samples, notices = mixer.render(k, t0 + pos / RATE)
        out.append(samples)
        notes += notices
        pos += k
    return np.concatenate(out), notes


def test_a_clip_plays_exactly_with_started_and_finished_notices() -> None:
    mixer = Mixer(RATE, volume=1.0)
    clip = tone(0.5, text="hello")
    item = mixer.add(clip)
    out, notes = run(mixer, 1.0, t0=10.0)
    np.testing.assert_allclose(out[: len(clip.samples)], clip.samples, atol=1e-6)
    assert not out[len(clip.samples):].any()
    assert [(n.state, n.text) for n in notes] == [("started", "hello"), ("finished", "hello")]
    assert notes[0].start == pytest.approx(10.0)
    assert notes[0].end == pytest.approx(10.5)
    assert notes[1].end == pytest.approx(10.5)
    assert item.done.is_set() and not item.interrupted
    assert not mixer.busy


def test_queued_clips_follow_each_other_without_a_gap() -> None:
    mixer = Mixer(RATE, volume=1.0)
    a, b = tone(0.213, 300, "a"), tone(0.1, 600, "b")
    mixer.add(a)
    mixer.add(b)
    out, notes = run(mixer, 0.5)
    expected = np.concatenate([a.samples, b.samples])
    np.testing.assert_allclose(out[: len(expected)], expected, atol=1e-6)
    started_b = next(n for n in notes if n.text == "b" and n.state == "started")
    assert started_b.start == pytest.approx(len(a.samples) / RATE)


def test_an_overlay_plays_at_once_over_the_queue() -> None:
    mixer = Mixer(RATE, volume=1.0)
    voice, tick = tone(0.3, 300, level=0.3), tone(0.05, 2000, level=0.3)
    mixer.add(voice)
    run(mixer, 0.1)
    mixer.add(tick, overlay=True)
    out, _ = run(mixer, 0.2)
    k = len(tick.samples)
    start = int(0.1 * RATE)
    np.testing.assert_allclose(out[:k], voice.samples[start : start + k] + tick.samples, atol=1e-6)


def test_stop_silences_within_the_fade_and_drops_the_queue() -> None:
    mixer = Mixer(RATE, volume=1.0, fade_seconds=0.005)
    first = mixer.add(tone(1.0, text="first"))
    second = mixer.add(tone(1.0, text="second"))
    run(mixer, 0.2)
    mixer.stop()
    out, notes = run(mixer, 0.3, t0=0.2)
    fade = int(0.005 * RATE)
    assert np.abs(out[:fade]).max() > 0  # a short ramp, not a click
    assert not out[fade:].any()
    assert [(n.state, n.text) for n in notes] == [("interrupted", "first")]
    assert notes[0].end == pytest.approx(0.205)
    assert first.interrupted and second.interrupted and first.done.is_set() and second.done.is_set()
    assert not mixer.busy


def test_a_clip_queued_right_after_stop_plays() -> None:
    """Issue 13: "repeat" cuts a sentence and queues it anew before the next block; the new one must play."""
    mixer = Mixer(RATE, volume=1.0, fade_seconds=0.005)
    old = mixer.add(tone(1.0, text="old"))
    waiting = mixer.add(tone(1.0, text="waiting"))
    run(mixer, 0.2)
    mixer.stop()
    new = mixer.add(tone(0.3, text="new"))
    out, notes = run(mixer, 0.6, t0=0.2)
    assert [(n.state, n.text) for n in notes] == [("interrupted", "old"), ("started", "new"), ("finished", "new")]
    assert old.interrupted and waiting.interrupted and not new.interrupted and new.done.is_set()
    assert np.abs(out[int(0.05 * RATE):int(0.25 * RATE)]).max() > 0.1  # the new clip is heard
    assert not mixer.busy


def test_pause_keeps_the_place_and_resume_continues_from_it() -> None:
    mixer = Mixer(RATE, volume=1.0, fade_seconds=0.005)
    clip = tone(0.6, text="step")
    mixer.add(clip)
    before, _ = run(mixer, 0.2)
    mixer.pause()
    paused, notes = run(mixer, 0.5, t0=0.2)
    fade = int(0.005 * RATE)
    assert not paused[fade:].any()
    assert notes[0].state == "interrupted"
    assert mixer.busy and mixer.paused
    mixer.resume()
    after, notes = run(mixer, 0.6, t0=0.7)
    assert notes[0].state == "started" and notes[0].start == pytest.approx(0.7)
    played = int(0.2 * RATE) + fade
    rest = clip.samples[played:]
    # after a 5 ms fade-in, the rest of the clip continues sample for sample
    np.testing.assert_allclose(after[fade : len(rest)], rest[fade:], atol=1e-6)
    assert notes[-1].state == "finished"


def test_volume_steps_scale_the_output_and_stay_in_bounds() -> None:
    mixer = Mixer(RATE, volume=0.5)
    assert mixer.louder() == pytest.approx(0.6)
    for _ in range(20):
        mixer.louder()
    assert mixer.volume == 1.0
    for _ in range(20):
        mixer.quieter()
    assert mixer.volume == pytest.approx(0.1)  # never silent
    clip = tone(0.5, level=0.5)
    mixer.add(clip)
    run(mixer, 0.05)  # let the gain ramp settle
    out, _ = run(mixer, 0.1)
    k = int(0.05 * RATE)
    np.testing.assert_allclose(out, 0.1 * clip.samples[k : k + len(out)], atol=1e-6)


def test_a_clip_at_another_rate_is_refused() -> None:
    mixer = Mixer(RATE)
    with pytest.raises(ValueError, match="Hz"):
        mixer.add(Clip(np.zeros(10, np.float32), 16000))


def test_cancel_cuts_one_clip_and_leaves_the_rest() -> None:
    mixer = Mixer(RATE, volume=1.0, fade_seconds=0.005)
    first = mixer.add(tone(1.0, 300, "first"))
    waiting = mixer.add(tone(0.5, 400, "waiting"))
    last = mixer.add(tone(0.2, 500, "last"))
    run(mixer, 0.1)
    mixer.cancel(waiting)  # never started: simply taken off the queue
    assert waiting.done.is_set() and waiting.interrupted
    mixer.cancel(first)  # sounding: cut with a fade, then the next one follows at once
    out, notes = run(mixer, 0.5, t0=0.1)
    fade = int(0.005 * RATE)
    assert [(n.state, n.text) for n in notes] == [("interrupted", "first"), ("started", "last"), ("finished", "last")]
    assert notes[1].start == pytest.approx(0.105)
    np.testing.assert_allclose(out[fade : fade + int(0.2 * RATE)], tone(0.2, 500).samples, atol=1e-6)
    assert first.interrupted and not last.interrupted
    mixer.cancel(last)  # done already: nothing happens
    assert not last.interrupted
