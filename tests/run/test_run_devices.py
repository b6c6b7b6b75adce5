"""The whole loop through real PortAudio devices: a spoken command into the virtual microphone moves the
session, and the virtual speaker really plays narration, falls silent on "pause" and speaks on "resume".

This loop test speaks "pause" and "resume" (before the English fallback had its verifier, espeak-ng's "next"
was heard as "no"); the recognizer's accuracy is measured in tests/speech and BENCHMARKS.md."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from processes import Running, say_until, spoken


def test_voice_commands_through_virtual_devices(virtual_audio: Any, capture: Any, tmp_path: Path) -> None:
    words = {w: spoken(w, tmp_path) for w in ("pause", "resume")}
    run = Running(virtual_audio, "run", "--input-device", "vmic", "--output-device", "vspeaker", "--tts", "pyttsx3",
                  "--data-dir", str(tmp_path / "data"), "--cache-dir", str(tmp_path / "cache"), "--json")
    with run as transcript, capture("vspeaker_mon") as speaker:
        transcript.wait_for(lambda e: e["type"] == "say", timeout=60)
        time.sleep(2.0)
        assert speaker.rms_between(time.monotonic() - 1.5, time.monotonic()) > 0.005, "no narration heard"

        def say(word: str, expect: Any) -> dict[str, Any]:
            """Like a person, say it again when nothing happens (over full narration the fallback may miss it)."""
            return say_until(transcript, words[word], expect, wait=6.0)

        # "pause" spoken over the narration: the speaker falls silent (the echo guard lets it through)
        paused = say("pause", lambda e: e["type"] == "command" and e["command"] == "pause")
        assert paused is not None
        # the sentence is cut, a short "Paused…" hint is said, then silence (unpaused, the intro talks on
        # with only half-second gaps)
        time.sleep(5.0)
        now = time.monotonic()
        assert speaker.rms_between(now - 0.8, now) < 0.003, "the speaker still talks after pause"
        say("resume", lambda e: e["type"] == "command" and e["command"] == "resume")
        time.sleep(2.0)
        assert speaker.rms_between(time.monotonic() - 1.5, time.monotonic()) > 0.005, "no narration after resume"
    assert run.returncode == 0, run.errors
    states = [e["state"] for e in transcript.events if e["type"] == "state"]
    assert states[:3] == ["intro", "paused", "intro"]
    acted = [(e["command"], e["source"]) for e in transcript.events if e["type"] == "command" and e["acted"]]
    assert acted == [("pause", "voice"), ("resume", "voice")]
    # the place was saved: the history has this unfinished session, ready for "resume" next time
    from voiceguide.store import Store

    store = Store.open(tmp_path / "data")
    try:
        assert store.checkpoint_for("facial-massage") is not None
    finally:
        store.close()


def test_microphone_lost_and_back_mid_session(virtual_audio: Any, tmp_path: Path) -> None:
    """The sound server goes away mid-session: the run pauses and keeps going; when it is back, a spoken
    "resume" carries on where it was."""
    import sounddevice as sd

    run = Running(virtual_audio, "run", "--input-device", "vmic", "--output-device", "vspeaker", "--tts", "pyttsx3",
                  "--data-dir", str(tmp_path / "data"), "--cache-dir", str(tmp_path / "cache"), "--json")
    with run as transcript:
        transcript.wait_for(lambda e: e["type"] == "say", timeout=60)
        virtual_audio.down()
        transcript.wait_for(lambda e: e["type"] == "device" and "microphone lost" in e["text"], timeout=20)
        # paused by whichever loss was noticed first (the speaker and the mic share the sound server)
        transcript.ever(lambda e: e["type"] == "state" and e["state"] == "paused", timeout=10)
        virtual_audio.up()
        transcript.wait_for(lambda e: e["type"] == "device" and "microphone restored" in e["text"], timeout=30)
        sd._terminate()  # this process's PortAudio must see the restarted server too
        sd._initialize()
        # "The microphone is back. Say resume to carry on." (about 3 s): a "resume" said over that hint is the
        # hint's own word to the echo guard, so a person answers once it has been said (and again if not heard)
        time.sleep(5.0)
        say_until(transcript, spoken("resume", tmp_path),
                  lambda e: e["type"] == "command" and e["command"] == "resume")
        assert run.proc.poll() is None  # still running: nothing was fatal
    assert run.returncode == 0, run.errors
    assert "Traceback" not in run.errors
