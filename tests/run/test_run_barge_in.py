"""Barge-in through real devices: the virtual mic hears the virtual speaker (as in one small box), and a
person's "pause" said in the middle of a narration sentence is heard and acted on while the sentence plays.
Narration alone, heard back through the mic, commands nothing."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from processes import Running, spoken

pytest.importorskip("livekit.rtc", reason="echo cancellation needs the livekit wheel")


def _run(virtual_audio: Any, tmp_path: Path) -> Running:
    return Running(virtual_audio, "run", "--input-device", "vmic", "--output-device", "vspeaker", "--tts", "pyttsx3",
                   "--data-dir", str(tmp_path / "data"), "--cache-dir", str(tmp_path / "cache"), "--json")


def _long_say(event: dict[str, Any]) -> bool:
    """A narration sentence long enough to speak into its middle."""
    return event["type"] == "say" and len(event["text"].split()) >= 10


def test_pause_said_mid_sentence_is_heard_while_it_plays(virtual_audio: Any, mic_hears_speaker: None,
                                                         capture: Any, tmp_path: Path) -> None:
    """Like a person talking over the assistant: "pause" in the middle of a sentence, and once more at once if
    it goes on talking (by then it has turned itself down: the ducking that lets the repeat through)."""
    import sounddevice as sd

    audio, rate = spoken("pause", tmp_path)
    run = _run(virtual_audio, tmp_path)
    said: list[tuple[float, float]] = []
    with run as transcript, capture("vspeaker_mon") as speaker:
        transcript.wait_for(lambda e: e["type"] == "listening", timeout=60)
        heard = None
        for _ in range(2):
            transcript.wait_for(_long_say, timeout=60)
            time.sleep(1.0)  # into the sentence
            for take in range(3):
                start = time.monotonic()
                sd.play(audio, rate, device="vmic_feed", blocking=True)
                said.append((start, time.monotonic()))
                try:
                    heard = transcript.wait_for(lambda e: e["type"] == "command", 1.5 if take < 2 else 4.0)
                    break
                except AssertionError:
                    continue
            if heard is not None:
                break
        assert heard is not None, f"'pause' said {len(said)} times over narration, never heard: {transcript.events}"
        assert heard["command"] == "pause", heard
        start, end = said[-1]
        # the word that was heard was said over narration: the speaker was talking all the while
        assert speaker.rms_between(start + 0.3, end - 0.3) > 0.003, "no narration under the spoken word"
        transcript.wait_for(lambda e: e["type"] == "state" and e["state"] == "paused", timeout=10)
    assert run.returncode == 0, run.errors
    assert not [e for e in transcript.events if e["type"] == "notice"]  # no 'echo cancellation unavailable'
    acted = [(e["command"], e["source"]) for e in transcript.events if e["type"] == "command" and e["acted"]]
    assert acted == [("pause", "voice")]
    print(f"heard after {len(said)} takes")


def test_narration_heard_back_commands_nothing(virtual_audio: Any, mic_hears_speaker: None, capture: Any,
                                               tmp_path: Path) -> None:
    run = _run(virtual_audio, tmp_path)
    with run as transcript, capture("vspeaker_mon") as speaker:
        transcript.wait_for(lambda e: e["type"] == "listening", timeout=60)
        transcript.wait_for(lambda e: e["type"] == "say", timeout=60)
        time.sleep(20.0)
        assert speaker.rms_between(time.monotonic() - 20.0, time.monotonic()) > 0.005, "no narration played"
    assert run.returncode == 0, run.errors
    commands = [e for e in transcript.events if e["type"] == "command"]
    says = [e for e in transcript.events if e["type"] == "say"]
    assert len(says) >= 3  # a real stretch of narration went by
    assert commands == [], commands
