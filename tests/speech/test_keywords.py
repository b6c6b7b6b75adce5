"""The streaming keyword model (the English recognizer without vosk) on audio it never learned from.

Floors sit just under the held-out figures of BENCHMARKS.md ("Recognition: keyword model"), measured by
scripts/eval_keywords.py on speakers and voices kept out of training (scripts/kwsdata.py HELDOUT_VOICES; the
corpus' test-split speakers; the running tap, never trained on).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from audio_helpers import CORPUS, decode, held_out_clips, mix, narration_audio, pack_narration, read16, silence

from voiceguide.core.commands import Command, Vocabulary, builtin_vocabulary
from voiceguide.speech.keywords import BUILTIN_KEYWORDS, Detector, DetectorSettings, Embedder, EmbeddingStream

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import kwsdata  # noqa: E402

COMMAND_WORDS = {"stop": Command.STOP, "go": Command.RESUME, "yes": Command.YES, "no": Command.NO}


@pytest.fixture(scope="module")
def keywords(en_vocabulary: Vocabulary):
    from voiceguide.speech.keyword_engine import KeywordRecognizer

    return KeywordRecognizer(en_vocabulary)


def _pad(audio: np.ndarray) -> np.ndarray:
    return np.concatenate([silence(1.0), audio, silence(1.0)])


def test_the_stream_gives_exactly_the_whole_clips_embeddings() -> None:
    """Training embeds whole clips, the run streams chunks of any size: both must see the same vectors."""
    embedder = Embedder()
    rng = np.random.default_rng(1)
    audio = rng.normal(0, 2000, 40000).astype(np.int16)
    whole = embedder.clip_embeddings(audio)
    stream = EmbeddingStream(embedder, keep=64)
    got, i = [], 0
    for n in rng.integers(100, 3000, 100):
        got += [(stream.end_sample(k), stream.vector(k)) for k in stream.feed(audio[i : i + n])]
        i += n
    assert len(got) == len(whole) == 22
    assert max(float(np.abs(v - whole[k]).max()) for k, (_, v) in enumerate(got)) < 1e-3
    assert [end for end, _ in got[:2]] == [12512, 13792]


def test_a_quiet_stream_runs_no_network_until_a_sound() -> None:
    """Past steps are made on demand, so the window is whole when speech starts after a long quiet."""
    embedder = Embedder()
    sound = np.random.default_rng(2).normal(0, 3000, 16000).astype(np.int16)
    audio = np.concatenate([np.zeros(48000, np.int16), sound])
    whole = embedder.clip_embeddings(audio)
    stream = EmbeddingStream(embedder)
    steps = stream.feed(audio)
    assert stream.loudness(steps[0]) < 1 and stream.loudness(steps[-1]) > 1000
    late = [stream.vector(k) for k in steps[-16:]]
    assert max(float(np.abs(v - whole[k]).max()) for k, v in zip(steps[-16:], late, strict=True)) < 1e-3
    stream.feed(np.zeros(0, np.int16))  # the next chunk: only the last 16 steps stay within reach
    assert np.array_equal(stream.vector(steps[-16]), late[0])
    with pytest.raises(IndexError):
        stream.vector(steps[-17])


def test_detector_waits_for_the_peak_then_stays_quiet() -> None:
    det = Detector({"go": 0.5, "go back": 0.5}, DetectorSettings(hold_frames=1, refractory_frames=3))
    steps = [{"go": 0.1}, {"go": 0.6}, {"go": 0.4, "go back": 0.7}, {"go back": 0.8}, {"go back": 0.9},
             {"go back": 0.9}, {"go back": 0.2}, {"go": 0.9}, {"go": 0.9}]
    found = det.run(steps)
    assert [(d.label, d.frame) for d in found] == [("go back", 4), ("go", 9)]  # "go" alone was one step: not acted on


def test_keen_commands_have_lower_thresholds() -> None:
    from voiceguide.speech.keywords import thresholds_for

    t = thresholds_for({"stop": 0.6, "next": 0.6}, ["stop", "next"], {"stop": "stop", "next": "next"},
                       DetectorSettings(keen=(("stop", 0.5),)))
    assert t == {"stop": 0.3, "next": 0.6}


def test_factory_gives_the_keyword_model_when_asked_and_sphinx_for_unknown_phrases() -> None:
    from voiceguide.speech.base import RecognitionSettings
    from voiceguide.speech.factory import create_recognizer

    if not BUILTIN_KEYWORDS.is_file():
        pytest.fail(f"the bundled keyword model {BUILTIN_KEYWORDS} is missing (scripts/train_keywords.py makes it)")
    settings = RecognitionSettings(engine="keywords", language="en-US", env={})
    english = builtin_vocabulary("en")
    rec, notice = create_recognizer(settings, english)
    assert rec.engine == "keywords" and notice is None
    custom = english.with_changes(add={Command.NEXT: ("onward",)})
    rec, _ = create_recognizer(settings, custom)
    assert rec.engine == "pocketsphinx"


@pytest.mark.corpus
def test_held_out_speakers_commands_and_other_words(keywords) -> None:
    clips = held_out_clips()
    right = n = rejected = others = 0
    for clip in clips:
        if clip.word == "silence":
            continue
        got = [h.command for h in decode(keywords, _pad(read16(clip.path)))]
        if clip.word in COMMAND_WORDS:
            n += 1
            right += got == [COMMAND_WORDS[clip.word]]
        else:
            others += 1
            rejected += not got
    assert right / n >= 0.80, f"{right}/{n} held-out speakers' commands heard"
    assert rejected / others >= 0.93, f"{rejected}/{others} of their other words rejected"


@pytest.mark.corpus
def test_held_out_speakers_over_the_running_tap(keywords) -> None:
    tap = read16(CORPUS / "noise" / "running_tap.wav")
    clips = [c for c in held_out_clips() if c.word in COMMAND_WORDS]
    right = 0
    for k, clip in enumerate(clips):
        audio = mix(_pad(read16(clip.path)), tap, 10.0, offset=k * 7919)
        right += [h.command for h in decode(keywords, audio)] == [COMMAND_WORDS[clip.word]]
    assert right / len(clips) >= 0.72, f"{right}/{len(clips)} heard over the tap at 10 dB"


@pytest.mark.skipif(shutil.which("flite") is None, reason="flite (a voice held out of training) is not installed")
def test_a_held_out_voice_says_every_phrase(keywords, en_vocabulary: Vocabulary) -> None:
    right, missed = 0, []
    phrases = en_vocabulary.all_phrases()
    for phrase, command in sorted(phrases.items()):
        got = [h.command for h in decode(keywords, _pad(kwsdata.synthesize(phrase, "flite:slt")))]
        right += got == [command]
        if got != [command]:
            missed.append((phrase, got))
    assert right / len(phrases) >= 0.75, missed


def test_the_packs_own_narration_commands_nothing(keywords, en_vocabulary: Vocabulary) -> None:
    """Over the speaker with no canceller, only commands both models agree on pass the echo guard."""
    from voiceguide.packs.loader import load_pack
    from voiceguide.speech.echo import EchoGuard

    audio, spans = narration_audio(pack_narration(load_pack("facial-massage").pack))
    guard = EchoGuard(en_vocabulary)
    for text, start, end in spans:
        guard.playing(text, start, end)
    heard = guard.filter(decode(keywords, audio))
    assert len(heard) <= 1, heard  # floor: 1 in 3.4 min of raw narration (a 'stop' both models agreed on at 126 s)
    assert len(audio) / 16000 > 60


def test_only_the_allowed_commands_are_heard(en_vocabulary: Vocabulary) -> None:
    from voiceguide.speech.keyword_engine import KeywordRecognizer

    voices = [v for v in kwsdata.HELDOUT_VOICES if kwsdata.available(v)]
    stops = [_pad(kwsdata.synthesize("stop", v)) for v in voices]
    rec = KeywordRecognizer(en_vocabulary, [Command.PAUSE])
    assert [h for audio in stops for h in decode(rec, audio)] == []
    rec.set_commands([Command.PAUSE, Command.STOP])
    heard = [[h.command for h in decode(rec, audio)] for audio in stops]
    assert [Command.STOP] in heard and all(h in ([], [Command.STOP]) for h in heard), heard
