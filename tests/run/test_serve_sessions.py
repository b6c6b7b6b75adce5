"""`voiceguide serve` as a person uses it, through the virtual devices: a spoken "start" guides the default
pack to its end and serve waits again, so a second "start" guides another session; "start facial massage"
picks that pack over the default; "help" is answered aloud through a speaker opened only for it.

The default pack here is a tiny one in a `--packs-dir` (a 6-second routine), so a whole session fits in a
test. Like a person, a command that was not heard is said again (at most three times)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from processes import Running, Transcript, say_until, spoken

TINY = """
[pack]
id = "tiny"
title = "Tiny routine"
language = "en-US"

[voice]
rate = 170

[intro]
say = "Welcome."

[closing]
say = "All done."

[[steps]]
id = "cheeks"
title = "Cheeks"
area = "cheeks"
technique = "glide"
say = "Glide over the cheeks."

[[steps.strokes]]
count = 2
seconds = 1.0
cue = "up"
"""


@pytest.fixture
def packs(tmp_path: Path) -> Path:
    folder = tmp_path / "packs"
    (folder / "tiny").mkdir(parents=True)
    (folder / "tiny" / "pack.toml").write_text(TINY, encoding="utf-8")
    return folder


def _serve(virtual_audio: Any, tmp_path: Path, packs: Path) -> Running:
    return Running(virtual_audio, *os.environ.get("VG_TEST_VERBOSE", "").split(), "serve", "tiny",
                   "--packs-dir", str(packs), "--input-device", "vmic",
                   "--output-device", "vspeaker", "--tts", "pyttsx3", "--data-dir", str(tmp_path / "data"),
                   "--cache-dir", str(tmp_path / "cache"), "--json")


@contextlib.contextmanager
def _explained(run: Running) -> Iterator[None]:
    """A failed check inside `with run` also shows what serve printed on stderr (read when it has ended)."""
    try:
        yield
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- serve's stderr ---\n{run.errors[-4000:]}") from None


def _say(phrase: str, tmp_path: Path, transcript: Transcript, expect: Any, tries: int = 3,
         audio: tuple[Any, int] | None = None) -> dict[str, Any]:
    return say_until(transcript, audio or spoken(phrase, tmp_path), expect, tries)


def _idles(transcript: Transcript) -> int:
    return sum(1 for e in transcript.events if e["type"] == "idle" and e["text"].startswith("waiting"))


def test_a_session_runs_to_its_end_then_serve_waits_and_a_second_start_guides_again(
        virtual_audio: Any, tmp_path: Path, packs: Path) -> None:
    run = _serve(virtual_audio, tmp_path, packs)
    with _explained(run), run as transcript:
        transcript.wait_for(lambda e: e["type"] == "idle", timeout=60)
        heard = _say("start", tmp_path, transcript, lambda e: e["type"] == "heard")
        assert heard["command"] == "start" and "pack" not in heard  # plain "start": the default pack
        session = transcript.ever(lambda e: e["type"] == "session", timeout=10)
        assert session["pack"] == "tiny"
        transcript.wait_for(lambda e: e["type"] == "state" and e["state"] == "finished", timeout=60)
        transcript.wait_for(lambda e: e["type"] == "idle" and e["text"].startswith("waiting"), timeout=30)
        assert _idles(transcript) == 2 and run.proc.poll() is None  # back to waiting, still running
        _say("start", tmp_path, transcript, lambda e: e["type"] == "heard")
        transcript.wait_for(lambda e: e["type"] == "state" and e["state"] == "intro", timeout=30)
    assert run.returncode == 0, run.errors
    assert "Traceback" not in run.errors
    sessions = [e["pack"] for e in transcript.events if e["type"] == "session"]
    assert sessions == ["tiny", "tiny"]
    states = [e["state"] for e in transcript.events if e["type"] == "state"]
    first = states[: states.index("finished") + 1]
    assert first[0] == "intro" and "strokes" in first and "closing" in first  # the whole routine was guided
    assert states[len(first)] == "intro"  # the second session started afresh (nothing was left to resume)


def test_start_with_a_pack_name_guides_that_pack_instead_of_the_default(
        virtual_audio: Any, tmp_path: Path, packs: Path) -> None:
    run = _serve(virtual_audio, tmp_path, packs)
    with _explained(run), run as transcript:
        idle = transcript.wait_for(lambda e: e["type"] == "idle", timeout=60)
        assert set(idle["packs"]) == {"tiny routine", "facial massage"}
        heard = _say("start facial massage", tmp_path, transcript, lambda e: e["type"] == "heard")
        assert heard["command"] == "start" and heard["pack"] == "facial-massage", heard
        session = transcript.ever(lambda e: e["type"] == "session", timeout=10)
        assert session["pack"] == "facial-massage"
        say = transcript.wait_for(lambda e: e["type"] == "say", timeout=60)
    assert run.returncode == 0, run.errors
    assert "Welcome. Take a slow breath" in say["text"]  # the built-in facial massage's intro, not tiny's


def _natural(phrase: str, tmp_path: Path) -> tuple[Any, int]:
    """A phrase said by Piper's natural voice, with a breath of quiet around it (as `spoken` does)."""
    import numpy as np

    pytest.importorskip("piper", reason="the neural extra (voiceguide[neural]) is part of the test extra")
    from voiceguide.audio.clip import read_wav
    from voiceguide.voice.piper_voice import PiperVoice

    path = tmp_path / f"{phrase.replace(' ', '-')}.piper.wav"
    voice = PiperVoice()
    try:
        voice.render(phrase, path, voice=None, rate=150)
    finally:
        voice.close()
    clip = read_wav(path)
    quiet = np.zeros(int(0.3 * clip.sample_rate), dtype=np.float32)
    return np.concatenate([quiet, clip.samples.astype(np.float32), quiet]), clip.sample_rate


def _playing(env: dict[str, str], pid: int) -> int:
    """How many playback streams the process has open on the sound server."""
    out = subprocess.run(["pactl", "list", "sink-inputs"], env={**os.environ, **env}, capture_output=True,
                         text=True, timeout=10, check=True).stdout
    return out.count(f'application.process.id = "{pid}"')


def test_help_is_said_aloud_and_the_speaker_is_closed_again(
        virtual_audio: Any, capture: Any, tmp_path: Path, packs: Path) -> None:
    help_said = _natural("help", tmp_path)
    run = _serve(virtual_audio, tmp_path, packs)
    with _explained(run), run as transcript, capture("vspeaker_mon") as speaker:
        transcript.wait_for(lambda e: e["type"] == "idle", timeout=60)
        assert _playing(virtual_audio.env, run.proc.pid) == 0  # idle: no speaker open
        # said by Piper, a natural voice (10 of 10 renderings heard through the same resampling as the virtual
        # devices); pocketsphinx alone missed espeak-ng's "help" most of the time
        hint = _say("help", tmp_path, transcript, lambda e: e["type"] == "hint", audio=help_said)
        assert "start" in hint["text"] and "facial massage" in hint["text"] and "resume" in hint["text"]
        said_from = time.monotonic()
        loud = None
        deadline = time.monotonic() + 30
        while loud is None and time.monotonic() < deadline:
            time.sleep(0.5)
            loud = speaker.last_loud()
        assert loud is not None and loud > said_from - 1.0, "the hint was not heard at the speaker"
        deadline = time.monotonic() + 30
        while _playing(virtual_audio.env, run.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _playing(virtual_audio.env, run.proc.pid) == 0, "the speaker stayed open after the hint"
        assert not [e for e in transcript.events if e["type"] in ("session", "state")]  # still waiting
        assert run.proc.poll() is None
    assert run.returncode == 0, run.errors


def test_once_ends_serve_after_one_session(virtual_audio: Any, tmp_path: Path, packs: Path) -> None:
    """`serve --once` (scripts, tests): one session to its end, then exit 0 without waiting again."""
    run = Running(virtual_audio, "serve", "tiny", "--once", "--packs-dir", str(packs), "--input-device", "vmic",
                  "--output-device", "vspeaker", "--tts", "pyttsx3", "--data-dir", str(tmp_path / "data"),
                  "--cache-dir", str(tmp_path / "cache"), "--json")
    with _explained(run), run as transcript:
        transcript.wait_for(lambda e: e["type"] == "idle", timeout=60)
        _say("start", tmp_path, transcript, lambda e: e["type"] == "heard")
        transcript.wait_for(lambda e: e["type"] == "state" and e["state"] == "finished", timeout=60)
        assert run.proc.wait(timeout=30) == 0  # by itself, no SIGTERM
    assert [e["text"] for e in transcript.events if e["type"] == "idle"] == [
        "waiting for: help, resume, start", "stopped"]
