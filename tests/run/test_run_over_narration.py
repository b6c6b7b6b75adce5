"""Commands said once over counting aloud, through real devices: the virtual mic hears the virtual speaker 6 dB
down (as in one small box), echo cancellation on, and a voice held out of the keyword model's training (Flite's
slt) says each command ONCE at a random moment while `run` counts strokes aloud. Heard the first time (in the
transcript within 2 s of the word's end) in at least k of n tries per command; and the counting alone, heard
back through the mic for a minute, commands nothing. The bench of the same path: scripts/bench_live.py."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from processes import ROOT, Running, Transcript

pytest.importorskip("livekit.rtc", reason="echo cancellation needs the livekit wheel")

sys.path.insert(0, str(ROOT / "scripts"))
from bench_live import RATE, prepared, write_pack  # noqa: E402

VOICE = "slt"
"""Flite's US English female voice: not among the keyword model's training voices (scripts/kwsdata.py)."""
LEVEL_DB = -20.0
"""The phrase's speech level at the mic, dBFS: about the narration's own level there (bench_live.py measures both)."""
WINDOW = 2.0
"""Seconds after the word's end within which the command must be in the transcript."""

# floor: set from BENCHMARKS.md live section — (heard first try at least k, of n tries), per command
FLOORS: dict[str, tuple[int, int]] = {
    "repeat": (1, 2),
    "help": (1, 2),
    "where am I": (1, 2),
    "slower": (1, 2),
    "pause": (1, 2),
    "stop": (1, 2),
}
COMMAND = {"where am I": "where"}
"""Phrase → command name in the transcript, where they differ."""


def _flite(text: str, tmp: Path) -> tuple[np.ndarray, int]:
    """`text` in Flite's slt, at the bench's level and with its quiet margins (16 kHz float32)."""
    from voiceguide.audio.clip import resample

    path = tmp / f"flite-{text.replace(' ', '_')}.wav"
    subprocess.run(["flite", "-voice", VOICE, "-t", text, "-o", str(path)], check=True, capture_output=True, timeout=60)
    with wave.open(str(path)) as w:
        rate = w.getframerate()
        audio = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768
    samples = (np.clip(resample(audio, rate, RATE), -1, 1) * 32767).astype(np.int16)
    # 0.3 s of quiet first: a playback stream opened per word can lose its first milliseconds
    return np.concatenate([np.zeros(int(0.2 * RATE), np.float32), prepared(samples, LEVEL_DB)]), RATE


@pytest.fixture
def slt(tmp_path: Path) -> Any:
    """Flite's slt voice, or a skip saying why it is not here."""
    if shutil.which("flite") is None:
        pytest.skip("flite is not installed (apt-get install flite): the held-out voice of this test")
    try:
        listed = subprocess.run(["flite", "-lv"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"flite does not run: {exc}")
    if VOICE not in listed.split():
        pytest.skip(f"flite has no voice {VOICE} here ({listed.strip()})")
    return lambda text: _flite(text, tmp_path)


def _run(virtual_audio: Any, tmp_path: Path) -> Running:
    """`run` on the bench pack, its narration rendered ahead (as an install does: no synthesis while it listens)."""
    pack = write_pack(tmp_path / "pack")
    subprocess.run([sys.executable, "-m", "voiceguide", "pack", "render", str(pack), "--tts", "pyttsx3", "--cache-dir",
                    str(tmp_path / "cache")], cwd=ROOT, check=True, capture_output=True, timeout=120)
    return Running(virtual_audio, "run", str(pack), "--input-device", "vmic", "--output-device", "vspeaker",
                   "--tts", "pyttsx3", "--data-dir", str(tmp_path / "data"), "--cache-dir", str(tmp_path / "cache"),
                   "--json")


def _is_count(e: dict[str, Any]) -> bool:
    return e["type"] == "say" and e.get("kind") == "count"


def _state(transcript: Transcript) -> str | None:
    states = [e["state"] for e in transcript.events if e["type"] == "state"]
    return states[-1] if states else None


def _say(said: tuple[np.ndarray, int]) -> None:
    import sounddevice as sd

    sd.play(said[0], said[1], device="vmic_feed", blocking=True)


def _once(transcript: Transcript, said: tuple[np.ndarray, int], command: str, rng: random.Random) -> bool:
    """At a random moment of the counting, say it once: is it in the transcript within WINDOW s of its end?"""
    transcript.wait_for(_is_count, 20.0)  # counting (also drops what came before from the queue)
    time.sleep(rng.uniform(0.0, 1.9))
    _say(said)
    try:
        transcript.wait_for(lambda e: e["type"] == "command" and e["command"] == command, WINDOW)
        return True
    except AssertionError:
        return False


def _back_to_counting(transcript: Transcript, voice: Any) -> None:
    """Undo what a heard pause or stop did (a person resumes; says "no" to the stop question), tries up to 3."""
    for _ in range(3):
        state = _state(transcript)
        if state == "paused":
            time.sleep(1.5)  # "Paused. Say resume to carry on."
            _say(voice("resume"))
        elif state == "confirm_stop":
            time.sleep(3.0)  # "Do you want to end the session? Say yes to end, or no to carry on."
            _say(voice("no"))
        else:
            return
        try:
            transcript.wait_for(lambda e: e["type"] == "state" and e["state"] not in ("paused", "confirm_stop"), 4.0)
            return
        except AssertionError:
            continue
    if _state(transcript) == "confirm_stop":  # unanswered, the question times out and the count goes on
        transcript.wait_for(lambda e: e["type"] == "state" and e["state"] != "confirm_stop", 20.0)
    assert _state(transcript) != "paused", "'resume' said 3 times and never heard: the session stays paused"


def test_each_command_said_once_over_counting_is_heard(virtual_audio: Any, mic_hears_speaker: None, slt: Any,
                                                       tmp_path: Path) -> None:
    rng = random.Random(12)
    order = [phrase for phrase, (_, n) in FLOORS.items() for _ in range(n)]
    rng.shuffle(order)
    voices = {phrase: slt(phrase) for phrase in FLOORS}
    heard: dict[str, list[bool]] = {phrase: [] for phrase in FLOORS}
    run = _run(virtual_audio, tmp_path)
    with run as transcript:
        engine = transcript.wait_for(lambda e: e["type"] == "listening", timeout=90)["text"]
        try:
            for phrase in order:
                heard[phrase].append(_once(transcript, voices[phrase], COMMAND.get(phrase, phrase), rng))
                _back_to_counting(transcript, slt)
        except AssertionError as exc:
            if engine != "pocketsphinx":
                raise
            # the "before" of issue 12: a misheard or unheard command can leave the session where the trials cannot
            # go on (paused, 'resume' never heard); that is the failure this test expects of pocketsphinx
            pytest.xfail(f"pocketsphinx over counting lost the session: {exc}"[:400])
    assert run.returncode == 0, run.errors
    listening = [e["text"] for e in transcript.events if e["type"] == "listening"]
    figures = {p: f"{sum(h)} of {len(h)}" for p, h in heard.items()}
    echo = [e["text"] for e in transcript.events if e["type"] == "echo"]
    print(f"engine {listening}; heard first try: {figures}; echo drops: {echo}")
    short = {p: f"{figures[p]} (floor {k} of {n})" for p, (k, n) in FLOORS.items() if sum(heard[p]) < k}
    if short and listening == ["pocketsphinx"]:  # the "before" of issue 12: the floors are the keyword model's
        pytest.xfail(f"pocketsphinx over counting, heard first try: {figures} (issue 12: the keyword model's floors)")
    assert not short, f"said once over counting by flite {VOICE}, heard first try too rarely: {short}; " \
                      f"engine {listening}; echo drops {echo}"


def test_counting_alone_commands_nothing(virtual_audio: Any, mic_hears_speaker: None, capture: Any,
                                         tmp_path: Path) -> None:
    """A minute of counting aloud, heard back through the mic, with nobody speaking: no command at all."""
    run = _run(virtual_audio, tmp_path)
    with run as transcript, capture("vspeaker_mon") as speaker:
        transcript.wait_for(lambda e: e["type"] == "listening", timeout=90)
        transcript.wait_for(_is_count, timeout=60)
        time.sleep(60.0)
        assert speaker.rms_between(time.monotonic() - 60.0, time.monotonic()) > 0.005, "no narration played"
    assert run.returncode == 0, run.errors
    counts = [e for e in transcript.events if _is_count(e)]
    assert len(counts) >= 25, f"only {len(counts)} counts in a minute"
    commands = [e for e in transcript.events if e["type"] == "command"]
    assert commands == [], commands
