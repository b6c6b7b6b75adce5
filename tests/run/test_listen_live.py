"""`voiceguide listen` on a real microphone stream (the virtual one): a person checks that they are heard."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from processes import ROOT, Transcript, spoken


def test_listen_prints_a_command_said_into_the_microphone(virtual_audio: Any, tmp_path: Path) -> None:
    import sounddevice as sd

    pause = spoken("pause", tmp_path)
    env = {**os.environ, **virtual_audio.env}
    proc = subprocess.Popen([sys.executable, "-m", "voiceguide", "listen", "--input-device", "vmic", "--json"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=ROOT)
    transcript = Transcript(proc)
    try:
        deadline = time.monotonic() + 60
        heard: dict[str, Any] | None = None
        time.sleep(3.0)  # the recognizer loads, the stream opens
        while heard is None and time.monotonic() < deadline:  # said again when not heard, as a person would
            sd.play(pause[0], pause[1], device="vmic_feed", blocking=True)
            try:
                heard = transcript.wait_for(lambda e: e.get("command") == "pause", timeout=6)
            except AssertionError:
                continue
        assert heard is not None, transcript.events
        assert heard["text"] == "pause" and heard["engine"] == "pocketsphinx" and heard["end"] > heard["start"] > 0
        assert proc.poll() is None  # still listening
        virtual_audio.down()  # the microphone goes away: no audio comes, and listen waits for it
        time.sleep(2.0)
        assert proc.poll() is None, transcript.events
    finally:
        virtual_audio.up()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)
        transcript.join()
    assert proc.stdout is not None and proc.stderr is not None
    errors = proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    assert proc.returncode == 0, errors
    assert "Listening" in errors and "Traceback" not in errors
