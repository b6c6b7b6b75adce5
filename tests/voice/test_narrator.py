"""Narration with the real pyttsx3/espeak-ng: WAV renders, the disk cache, render-ahead, voices, hang recovery."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import numpy as np
import pytest

from voiceguide.audio.clip import read_wav
from voiceguide.voice.base import Voice, VoiceError, pick_voice
from voiceguide.voice.cache import RenderCache
from voiceguide.voice.narrator import Narrator, NarratorSettings
from voiceguide.voice.pyttsx3_voice import Pyttsx3Voice

SENTENCE = "Place your fingertips between your brows and glide upward."


@pytest.fixture
def narrator(tmp_path: Path):  # type: ignore[no-untyped-def]
    n = Narrator(NarratorSettings(cache_dir=tmp_path / "cache", language="en-US"))
    yield n
    n.close()


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2))) if x.size else 0.0


def test_a_sentence_becomes_speech_in_a_cached_wav(narrator: Narrator, tmp_path: Path) -> None:
    assert isinstance(narrator._voice, Voice)
    clip = narrator.clip(SENTENCE)
    assert clip.text == SENTENCE
    # nine words at 150 wpm: a few seconds of audible speech, not silence
    assert 2.0 < clip.duration < 7.0
    assert rms(clip.samples) > 0.02
    assert narrator.renders == 1
    path = narrator.render(SENTENCE)
    assert path.is_file() and path.is_relative_to(tmp_path / "cache")
    assert read_wav(path).sample_rate == clip.sample_rate


def test_the_cache_answers_again_across_narrators(narrator: Narrator, tmp_path: Path) -> None:
    first = narrator.render(SENTENCE)
    again = Narrator(NarratorSettings(cache_dir=tmp_path / "cache", language="en-US"))
    try:
        assert again.is_cached(SENTENCE)
        assert again.render(SENTENCE) == first
        assert again.renders == 0
        # whitespace does not make another entry
        assert again.render("  Place your fingertips  between your brows and glide upward. ") == first
    finally:
        again.close()


def test_rate_voice_and_text_are_part_of_the_key(narrator: Narrator) -> None:
    normal = narrator.clip(SENTENCE)
    slow = narrator.clip(SENTENCE, rate_scale=0.6)
    assert narrator.rate_for(0.6) == 90
    assert slow.duration > normal.duration * 1.3  # really slower speech, not a cache collision
    other = narrator.render(SENTENCE.replace("upward", "outward"))
    assert other != narrator.render(SENTENCE)
    keys = {
        RenderCache.key("pyttsx3", "gmw/en-us", "hello", 150),
        RenderCache.key("pyttsx3", "gmw/en-us", "hello", 151),
        RenderCache.key("pyttsx3", "ko", "hello", 150),
        RenderCache.key("piper", "gmw/en-us", "hello", 150),
        RenderCache.key("pyttsx3", "gmw/en-us", "hello!", 150),
    }
    assert len(keys) == 5
    assert narrator.rate_for(100.0) == narrator.settings.max_rate


def test_render_ahead_fills_the_cache_so_a_command_is_answered_from_it(narrator: Narrator) -> None:
    texts = [f"Stroke number {i}." for i in range(1, 9)]
    assert narrator.prefetch(texts) == 8
    assert narrator.wait_prefetched(timeout=60)
    assert all(narrator.is_cached(t) for t in texts)
    rendered = narrator.renders
    narrator.clip(texts[3])
    assert narrator.renders == rendered  # no synthesis on the hot path
    assert narrator.prefetch(texts) == 0


def test_two_threads_asking_for_one_sentence_render_it_once(narrator: Narrator) -> None:
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(narrator.render("Breathe in slowly."))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(set(results)) == 1 and len(results) == 4
    assert narrator.renders == 1


def test_voices_are_listed_and_picked_by_name_or_language(narrator: Narrator) -> None:
    voices = narrator.voices()
    ids = {v.id for v in voices}
    assert {"gmw/en-us", "ko"} <= ids
    assert sum(v.default for v in voices) == 1
    assert narrator.voice_id == "gmw/en-us"
    assert pick_voice(voices, None, "ko-KR").id == "ko"
    assert pick_voice(voices, "English (America)").id == "gmw/en-us"
    assert pick_voice(voices, "EN-US").id == "gmw/en-us"
    assert pick_voice(voices, None, None) is None
    with pytest.raises(VoiceError, match="no voice named 'englsh-us'"):
        pick_voice(voices, "englsh-us")


def test_korean_narration_uses_the_korean_voice(tmp_path: Path) -> None:
    with Narrator(NarratorSettings(cache_dir=tmp_path, language="ko-KR")) as ko:
        clip = ko.clip("다음")
        assert ko.voice_id == "ko"
        assert 0.2 < clip.duration < 3.0 and rms(clip.samples) > 0.02


def test_an_unknown_voice_in_settings_is_a_clear_error(tmp_path: Path) -> None:
    with (Narrator(NarratorSettings(cache_dir=tmp_path, voice="no-such-voice")) as n,
          pytest.raises(VoiceError, match="no voice named")):
        n.clip("hello")


def test_a_hung_worker_is_killed_and_the_render_retried(tmp_path: Path) -> None:
    engine = Pyttsx3Voice(timeout=2.0)
    with Narrator(NarratorSettings(cache_dir=tmp_path), voice=engine) as n:
        n.render("First sentence.")
        worker = engine._worker
        assert worker is not None
        os.kill(worker._proc.pid, signal.SIGSTOP)  # espeak "hangs"
        try:
            clip = n.clip("Second sentence.")
        finally:
            try:
                os.kill(worker._proc.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        assert engine.restarts == 1
        assert rms(clip.samples) > 0.02


def test_blank_text_is_an_empty_clip(narrator: Narrator) -> None:
    assert narrator.clip("   ").duration == 0.0
    with pytest.raises(ValueError):
        narrator.render("")


def test_the_cache_is_pruned_least_recently_used_first(tmp_path: Path) -> None:
    texts = [f"Sentence number {i}." for i in range(5)]
    with Narrator(NarratorSettings(cache_dir=tmp_path, cache_max_bytes=None)) as n:
        paths = [n.render(t) for t in texts]
        for i, path in enumerate(paths):  # an order of use: 0 oldest … 4 newest
            os.utime(path, (1_000_000 + i, 1_000_000 + i))
        n.render(texts[0])  # used again now: the newest
        sizes = {p: p.stat().st_size for p in paths}
    budget = sizes[paths[0]] + sizes[paths[4]] + sizes[paths[3]]
    assert n.cache.prune(budget) == 2
    assert [p.exists() for p in paths] == [True, False, False, True, True]
    assert n.cache.size_bytes() <= budget
