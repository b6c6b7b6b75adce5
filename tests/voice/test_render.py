"""`voiceguide pack render`: every sentence a session says, rendered to WAV with a manifest, from cache the second
time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from voiceguide.audio.clip import read_wav
from voiceguide.cli import main
from voiceguide.packs.loader import load_pack
from voiceguide.voice.render import pack_sentences, reachable_tempos


def test_the_sentences_are_the_ones_a_session_says(tiny: Path) -> None:
    texts = [(s.kind, s.text) for s in pack_sentences(load_pack(tiny).pack)]
    assert ("say", "Step 1 of 2: the forehead.") in texts
    assert ("say", "Glide up 3 times.") in texts
    assert [t for k, t in texts if k == "count"] == ["1, up", "2, up", "3, up"]
    assert ("say", "Now out to the temples.") in texts  # the second group: ticks only, nothing counted
    says = [t for t in texts if t[0] != "hint"]
    assert says[0] == ("say", "Welcome.") and says[-1] == ("say", "All done.")
    # then the session's own fixed hints, so that a pause or a stop never waits for synthesis
    hints = [t for k, t in texts if k == "hint"]
    assert texts[-len(hints):] == [("hint", t) for t in hints]
    assert "Paused. Say resume to carry on." in hints and "When you have finished, say ready." in hints
    assert "You stopped at step 2, Breathe. Say resume to continue, or start to begin again." in hints
    assert len({t for _, t in texts}) == len(texts)
    assert not any("{" in t for _, t in texts)


def test_reachable_tempos_follow_the_session_rule() -> None:
    tempos = reachable_tempos(1.0)
    assert tempos[0] == 0.5 and tempos[-1] == 2.0
    assert {1.0, 1.25, 1.5625, 0.8, 0.64} <= set(tempos)


def test_pack_render_writes_wavs_and_a_manifest_then_uses_the_cache(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, cache = tmp_path / "out", tmp_path / "cache"
    assert main(["pack", "render", str(tiny), "--tts", "pyttsx3", "--out", str(out), "--cache-dir", str(cache)]) == 0
    first = capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    items = manifest["items"]
    assert manifest["pack"]["id"] == "tiny" and manifest["engine"] == "pyttsx3" and manifest["voice"] == "gmw/en-us"
    assert len(items) == len(pack_sentences(load_pack(tiny).pack))
    for item in items:
        clip = read_wav(out / item["file"])
        assert clip.duration == pytest.approx(item["duration"], abs=1e-3)
        assert 0.3 < clip.duration < 10.0  # the longest: the offer of a saved place
        assert item["rate"] == 140
    assert f"{len(items)} synthesized now, 0 from cache" in first
    assert main(["pack", "render", str(tiny), "--tts", "pyttsx3", "--cache-dir", str(cache)]) == 0
    assert f"0 synthesized now, {len(items)} from cache" in capsys.readouterr().out


def test_render_at_every_reachable_tempo(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["pack", "render", str(tiny), "--tts", "pyttsx3", "--out", str(out), "--cache-dir",
                 str(tmp_path / "c"), "--all-tempos"]) == 0
    items = json.loads((out / "manifest.json").read_text())["items"]
    rates = sorted({i["rate"] for i in items})
    assert rates[0] == 80 and rates[-1] == 280 and len(rates) >= 6  # rate = pack rate / tempo, bounded
    same = [i for i in items if i["text"] == "Glide up 3 times."]
    by_rate = {i["rate"]: i["duration"] for i in same}
    assert by_rate[80] > by_rate[140] > by_rate[280]


def test_bad_render_requests_are_one_clear_message(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["pack", "render", str(tmp_path / "nowhere")]) == 1
    assert "cannot use pack" in capsys.readouterr().err
    assert main(["pack", "render", str(tiny), "--rate", "20", "--cache-dir", str(tmp_path)]) == 1
    assert "outside 80–450" in capsys.readouterr().err
    assert main(["pack", "render", str(tiny), "--voice", "martian", "--cache-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "no voice named 'martian'" in err and "Traceback" not in err


def test_voices_lists_the_engine_voices(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["voices", "--json"]) == 0
    voices = json.loads(capsys.readouterr().out)
    assert {"gmw/en-us", "ko"} <= {v["id"] for v in voices}
    assert main(["voices", "--language", "ko-KR"]) == 0
    assert capsys.readouterr().out.split() [:2] == ["ko", "Korean"]
    assert main(["voices", "--language", "tlh"]) == 1
    assert main(["voices", "--engine", "nope"]) == 1
    assert "unknown speech engine" in capsys.readouterr().err


def test_a_rendered_pack_is_played_from_cache_at_run_time(tiny: Path, tmp_path: Path) -> None:
    from voiceguide.voice.narrator import Narrator, NarratorSettings

    cache = tmp_path / "cache"
    assert main(["pack", "render", str(tiny), "--tts", "pyttsx3", "--cache-dir", str(cache)]) == 0
    pack = load_pack(tiny).pack
    # the narrator as `run` builds it: the pack's voice, language and rate; the tempo's rate scale
    with Narrator(NarratorSettings(voice=pack.voice.name, language=pack.pack.language, rate=pack.voice.rate,
                                   cache_dir=cache)) as n:
        for sentence in pack_sentences(pack):
            assert n.is_cached(sentence.text, round(1.0 / pack.voice.tempo, 4)), sentence
            n.clip(sentence.text)
        assert n.renders == 0


def test_render_defaults_to_the_engine_a_run_will_use(tiny: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """No --tts: the config file's engine, else auto (Piper where it has a voice), as `run` decides."""
    empty, espeak = tmp_path / "empty.toml", tmp_path / "espeak.toml"
    empty.write_text("")
    espeak.write_text('tts = "pyttsx3"\n')
    assert main(["pack", "render", str(tiny), "--config", str(empty), "--cache-dir", str(tmp_path / "a")]) == 0
    assert "(piper, voice en_US-joe-medium)" in capsys.readouterr().out
    assert main(["pack", "render", str(tiny), "--config", str(espeak), "--cache-dir", str(tmp_path / "b")]) == 0
    assert "(pyttsx3, voice gmw/en-us)" in capsys.readouterr().out
    assert main(["pack", "render", str(tiny), "--config", str(tmp_path / "none.toml")]) == 1
    assert "no such config file" in capsys.readouterr().err
