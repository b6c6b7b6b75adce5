"""The keyword model's training material (scripts/kwsdata.py): real engines, reproducible, never a held-out item."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import kwsdata

ENGINE_VOICES = ("espeak:en-us+m1", "espeak:mb-us1", "flite:kal16", "flite:slt", "festival:kal_diphone",
                 "festival:ked_diphone", "piper:joe")
RATE = kwsdata.SAMPLE_RATE


@pytest.fixture(autouse=True)
def _fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test synthesizes for real, into its own cache."""
    monkeypatch.setenv("VOICEGUIDE_KWS_CACHE", str(tmp_path / "kws-cache"))


def _need(voice: str) -> None:
    if not kwsdata.available(voice):
        pytest.skip(f"{voice} is not installed here (scripts/train-deps.sh, pip install -e '.[train]')")


def _loud_seconds(audio: np.ndarray) -> float:
    """Seconds of 10 ms frames within 30 dB of the loudest."""
    frames = audio[: len(audio) // 160 * 160].astype(np.float64).reshape(-1, 160)
    rms = np.sqrt((frames**2).mean(axis=1))
    return float((rms > rms.max() * 10 ** (-30 / 20)).sum()) * 0.01


@pytest.mark.parametrize("voice", ENGINE_VOICES)
def test_each_engine_says_stop(voice: str) -> None:
    _need(voice)
    audio = kwsdata.synthesize("stop", voice)
    assert audio.dtype == np.int16 and audio.ndim == 1
    assert 0.25 < len(audio) / RATE < 1.5, f"{voice}: {len(audio) / RATE:.2f} s for 'stop'"
    assert np.abs(audio).max() > 8000
    assert _loud_seconds(audio) > 0.1
    edge = int(0.04 * RATE)  # trimmed to ~50 ms of quiet each side
    assert np.abs(audio[:edge]).max() < 0.1 * np.abs(audio).max()
    assert np.abs(audio[-edge:]).max() < 0.1 * np.abs(audio).max()


@pytest.mark.parametrize("voice", ENGINE_VOICES)
def test_synthesis_is_deterministic_and_rate_changes_length(voice: str) -> None:
    _need(voice)
    first = kwsdata._render("next step", voice, 0.8, 2.0, 5)  # uncached: the engine itself is reproducible
    again = kwsdata._render("next step", voice, 0.8, 2.0, 5)
    assert np.array_equal(first, again)
    cached = kwsdata.synthesize("next step", voice, 0.8, 2.0, 5)
    assert np.array_equal(cached, first) and np.array_equal(kwsdata.synthesize("next step", voice, 0.8, 2.0, 5), first)
    fast = kwsdata.synthesize("next step", voice, 1.25, 2.0, 5)
    assert len(fast) < 0.9 * len(first)


def test_piper_seed_varies_the_voice() -> None:
    _need("piper:joe")
    a, b = kwsdata.synthesize("hold on", "piper:joe", seed=1), kwsdata.synthesize("hold on", "piper:joe", seed=2)
    assert not np.array_equal(a, b)


def test_reverb_is_seeded_and_keeps_length() -> None:
    _need("espeak:en-us+m1")
    pytest.importorskip("pyroomacoustics")
    speech = kwsdata.synthesize("pause", "espeak:en-us+m1")
    for seed in (0, 1):
        wet = kwsdata.reverb(speech, seed)
        assert wet.dtype == np.int16
        assert len(speech) <= len(wet) <= len(speech) + int(0.3 * RATE)
        assert np.array_equal(wet, kwsdata.reverb(speech, seed))
        rms = np.sqrt(np.mean(speech.astype(np.float64) ** 2))
        assert np.sqrt(np.mean(wet[: len(speech)].astype(np.float64) ** 2)) == pytest.approx(rms, rel=0.05)
    assert not np.array_equal(kwsdata.reverb(speech, 0), kwsdata.reverb(speech, 1))


@pytest.mark.corpus
def test_noises_are_long_loud_and_never_the_tap() -> None:
    found = kwsdata.noises()
    assert set(found) == {"kitchen", "pink", "fan", "hairdryer", "shower"}
    tap = kwsdata.CORPUS_NOISE / "running_tap.wav"
    tap_start = np.frombuffer(tap.read_bytes()[44 : 44 + 32000], dtype="<i2") if tap.is_file() else None
    for name, audio in found.items():
        assert audio.dtype == np.int16 and len(audio) >= 30 * RATE, name
        assert np.sqrt(np.mean(audio.astype(np.float64) ** 2)) > 300, name
        if tap_start is not None:
            assert not np.array_equal(audio[:16000], tap_start[:16000]), name
    assert np.array_equal(kwsdata.noises()["shower"], found["shower"])


@pytest.mark.corpus
def test_mix_reaches_the_snr() -> None:
    speech = (np.sin(np.arange(RATE) * 0.2) * 10000).astype(np.int16)
    noise = kwsdata.noises()["pink"]
    mixed = kwsdata.mix(speech, noise, 10.0, 1234)
    added = mixed.astype(np.float64) - speech
    snr = 10 * np.log10(np.mean(speech.astype(np.float64) ** 2) / np.mean(added**2))
    assert len(mixed) == len(speech) and snr == pytest.approx(10.0, abs=0.3)


def test_negatives_are_never_a_command_and_cover_every_command_word() -> None:
    phrases = set(kwsdata.command_phrases())
    texts = kwsdata.negative_texts()
    assert len(texts["words"]) >= 2500 and len(texts["sentences"]) >= 250
    for key, items in texts.items():
        assert items, key
        said = {" ".join(t.lower().replace(",", " ").split()) for t in items}
        assert not said & phrases, (key, said & phrases)
    words = {w for p in phrases for w in p.split()}
    near = set(texts["near"])
    for word in words:
        assert len(set(kwsdata.NEAR_MISSES[word]) & near) >= 5, word
    assert not near & words
    assert any("stop" in s.split() for s in texts["sentences"])
    assert kwsdata.negative_texts(0) == texts and kwsdata.negative_texts(1)["words"] != texts["words"]


def test_every_listed_voice_is_its_own_and_none_is_a_test_voice() -> None:
    _need("espeak:en-us+m1")
    test_voices = ("espeak:en-us", "espeak:en-us+f3", "espeak:en-gb", "espeak:en-us+m3")
    listed = [v for v in kwsdata.TRAIN_VOICES + kwsdata.HELDOUT_VOICES if v.startswith("espeak:")]
    assert not set(listed) & set(test_voices)
    assert not set(kwsdata.TRAIN_VOICES) & set(kwsdata.HELDOUT_VOICES)
    heard: dict[bytes, str] = {}
    for voice in (*test_voices, *listed):  # espeak-ng silently drops a variant it cannot apply ("en-gb+f4")
        if voice.startswith("espeak:mb-") and not kwsdata.available(voice):
            continue
        audio = kwsdata.synthesize("repeat", voice).tobytes()
        assert audio not in heard, f"{voice} sounds exactly like {heard.get(audio)}"
        heard[audio] = voice
