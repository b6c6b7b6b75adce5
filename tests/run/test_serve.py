"""`voiceguide serve` through the virtual devices: idle and silent until a spoken command, then a session
that really narrates, and SIGTERM ends it cleanly (exit 0, as systemd expects). A bad config file exits 78.

espeak-ng's "resume" is recognized reliably by the English fallback (see test_run_devices.py); with no saved
place it starts the session just as "start" does."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from processes import Running, spoken


def _serve(virtual_audio: Any, *args: str) -> Running:
    return Running(virtual_audio, "serve", *args)


def test_serve_waits_silently_then_a_spoken_resume_starts_a_session(
        virtual_audio: Any, capture: Any, tmp_path: Path) -> None:
    import sounddevice as sd

    resume = spoken("resume", tmp_path)
    devices = ["--input-device", "vmic", "--output-device", "vspeaker", "--data-dir", str(tmp_path / "data"),
               "--cache-dir", str(tmp_path / "cache"), "--json"]
    run = _serve(virtual_audio, *devices)
    with run as transcript, capture("vspeaker_mon") as speaker:
        idle = transcript.wait_for(lambda e: e["type"] == "idle", timeout=60)
        assert "start" in idle["text"] and "resume" in idle["text"]
        time.sleep(3.0)  # idle: nothing is said and the speaker is silent
        now = time.monotonic()
        assert speaker.rms_between(now - 2.5, now) < 0.003, "the speaker talks while idle"
        assert not [e for e in transcript.events if e["type"] in ("say", "state")]
        sd.play(resume[0], resume[1], device="vmic_feed", blocking=True)
        heard = transcript.wait_for(lambda e: e["type"] == "heard", timeout=20)
        assert heard["command"] == "resume"
        transcript.wait_for(lambda e: e["type"] == "say", timeout=60)
        time.sleep(2.0)
        now = time.monotonic()
        assert speaker.rms_between(now - 1.5, now) > 0.005, "no narration after the spoken command"
        assert run.proc.poll() is None
    assert run.returncode == 0, run.errors
    assert "Traceback" not in run.errors
    states = [e["state"] for e in transcript.events if e["type"] == "state"]
    assert states[0] == "intro"

    # the place was kept; serve again: "resume" said while idle also answers the session's offer of that place
    run = _serve(virtual_audio, *devices)
    with run as transcript:
        transcript.wait_for(lambda e: e["type"] == "idle", timeout=60)
        sd.play(resume[0], resume[1], device="vmic_feed", blocking=True)
        transcript.wait_for(lambda e: e["type"] == "heard", timeout=20)
        transcript.wait_for(lambda e: e["type"] == "command" and e["command"] == "resume", timeout=30)
        transcript.wait_for(lambda e: e["type"] == "say" and e.get("kind") != "hint", timeout=30)
    assert run.returncode == 0, run.errors
    states = [e["state"] for e in transcript.events if e["type"] == "state"]
    assert states[0] == "offer" and states[1] not in ("offer", "idle", "stopped", "finished"), states
    commands = [(e["command"], e["acted"], e["source"]) for e in transcript.events if e["type"] == "command"]
    assert commands[0] == ("resume", True, "voice")  # one "resume", said once, while idle


def test_serve_waits_for_a_missing_microphone_and_ends_on_sigterm(virtual_audio: Any, tmp_path: Path) -> None:
    """A named microphone that is not there: a log line, retries, no exit; SIGTERM still ends it with 0."""
    run = _serve(virtual_audio, "--input-device", "no-such-mic", "--output-device", "vspeaker", "--retry-seconds",
                 "0.5", "--data-dir", str(tmp_path / "data"), "--json")
    with run as transcript:
        transcript.wait_for(lambda e: e["type"] == "device" and "microphone missing" in e["text"], timeout=60)
        transcript.wait_for(lambda e: e["type"] == "device" and "microphone missing" in e["text"], timeout=10)
        assert run.proc.poll() is None  # still waiting
    assert run.returncode == 0, run.errors
    assert "no-such-mic" in run.errors and "trying again" in run.errors and "Traceback" not in run.errors


def test_a_bad_config_file_exits_78_naming_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text('pack = "facial-massage"\nvolume = 3\n')
    res = subprocess.run([sys.executable, "-m", "voiceguide", "serve", "--config", str(bad)],
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 78
    assert f"{bad}:2: volume" in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_the_idle_grammar_adds_start_and_each_packs_name(tmp_path: Path) -> None:
    """"start facial massage" names the built-in pack, "begin tiny routine" the user's; a name two packs share
    is offered for neither (it would start either), and plain "start" names none (the default is guided)."""
    from test_serve_sessions import TINY

    from voiceguide.core.commands import Command
    from voiceguide.packs.loader import load_pack
    from voiceguide.packs.vocabulary import pack_vocabulary
    from voiceguide.runtime.server import IdleGrammar, spoken_names

    (tmp_path / "tiny").mkdir()
    (tmp_path / "tiny" / "pack.toml").write_text(TINY, encoding="utf-8")
    (tmp_path / "twin").mkdir()
    (tmp_path / "twin" / "pack.toml").write_text(TINY.replace('id = "tiny"', 'id = "twin"'), encoding="utf-8")
    massage, tiny, twin = load_pack("facial-massage"), load_pack(tmp_path / "tiny"), load_pack(tmp_path / "twin")
    assert spoken_names(massage.pack) == ["facial massage"]
    assert spoken_names(tiny.pack) == ["tiny routine", "tiny"]

    idle = IdleGrammar.build(pack_vocabulary(tiny.pack), [tiny, massage])
    assert idle.pack_for("Start facial massage!") is massage
    assert idle.pack_for("begin tiny routine") is tiny and idle.pack_for("start tiny") is tiny
    assert idle.pack_for("start") is None
    assert idle.vocabulary.match("start facial massage") is Command.START
    assert idle.vocabulary.match("begin tiny routine") is Command.START
    assert sorted(idle.names()) == ["facial massage", "tiny routine"]

    shared = IdleGrammar.build(pack_vocabulary(tiny.pack), [tiny, twin, massage])
    assert shared.pack_for("start tiny routine") is None  # both are titled "Tiny routine"
    assert shared.pack_for("start tiny") is tiny and shared.pack_for("start twin") is twin
    assert shared.vocabulary.match("start tiny routine") is None
