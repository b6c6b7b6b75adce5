"""`voiceguide serve` on a terminal: one reader of stdin for the whole process, so a line typed during the
second session reaches that session. Before, each session started its own reader; the first session's reader,
still blocked on the terminal after its session ended, took the next line and dropped it.

stdin is a pseudo-terminal (so serve sees a TTY, as at a console); the sessions are started by voice through
the virtual microphone, as in test_serve_sessions.py (the same 6-second tiny pack)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

from processes import ROOT, Transcript, say_until, spoken
from test_serve_sessions import TINY


def test_a_line_typed_in_the_second_session_reaches_it(virtual_audio: Any, tmp_path: Path) -> None:
    packs = tmp_path / "packs"
    (packs / "tiny").mkdir(parents=True)
    (packs / "tiny" / "pack.toml").write_text(TINY, encoding="utf-8")
    start = spoken("start", tmp_path)
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "voiceguide", "serve", "tiny", "--packs-dir", str(packs), "--input-device", "vmic",
         "--output-device", "vspeaker", "--tts", "pyttsx3", "--data-dir", str(tmp_path / "data"),
         "--cache-dir", str(tmp_path / "cache"), "--json"],
        stdin=secondary, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **virtual_audio.env}, cwd=ROOT)
    os.close(secondary)
    transcript = Transcript(proc)
    try:
        transcript.wait_for(lambda e: e["type"] == "idle", timeout=60)
        say_until(transcript, start, lambda e: e["type"] == "heard")
        transcript.wait_for(lambda e: e["type"] == "state" and e["state"] == "finished", timeout=60)
        transcript.wait_for(lambda e: e["type"] == "idle" and e["text"].startswith("waiting"), timeout=30)
        say_until(transcript, start, lambda e: e["type"] == "heard")
        transcript.wait_for(lambda e: e["type"] == "state" and e["state"] == "intro", timeout=30)
        os.write(primary, b"pause\n")
        transcript.wait_for(lambda e: e["type"] == "command" and e["command"] == "pause"
                            and e["source"] == "keyboard", timeout=10)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)
        transcript.join()
        os.close(primary)
        assert proc.stdout is not None and proc.stderr is not None
        errors = proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == 0, errors
    assert "Traceback" not in errors
    sessions = [e for e in transcript.events if e["type"] == "session"]
    assert len(sessions) == 2
