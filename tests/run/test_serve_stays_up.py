"""`voiceguide serve` outlives its sound server: stopped and started again while serve waits, the microphone
is reopened each time, and SIGTERM afterwards still ends the process at once with exit 0.

When PulseAudio dies under an open stream, its ALSA plugin can deadlock the stream's callback thread (seen
in one restart of 5 on a loaded machine, one of 30 on a quiet one); closing that stream then never returns,
and PortAudio's shutdown at exit (sounddevice's atexit `Pa_Terminate`) waited for it forever, so systemd
would have had to kill the service. Before the fix this test hung 2 runs of 4; the stuck case now exits in
0.3 s. Three restarts keep the test short, so not every run meets a stuck close."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Any

from processes import Running

RESTARTS = 3


def test_serve_ends_on_sigterm_after_the_sound_server_restarts_while_idle(virtual_audio: Any, tmp_path: Path) -> None:
    run = Running(virtual_audio, "serve", "--input-device", "vmic", "--output-device", "vspeaker",
                  "--retry-seconds", "0.5", "--data-dir", str(tmp_path / "data"), "--json")
    ended = True
    try:
        with run as transcript:
            transcript.wait_for(lambda e: e["type"] == "idle", timeout=60)
            for _ in range(RESTARTS):
                virtual_audio.down()
                transcript.wait_for(lambda e: e["type"] == "device" and "microphone lost" in e["text"], timeout=20)
                virtual_audio.up()
                transcript.wait_for(lambda e: e["type"] == "device" and "microphone restored" in e["text"],
                                    timeout=30)
            assert run.proc.poll() is None  # still serving
            run.proc.send_signal(signal.SIGTERM)
            try:
                run.proc.wait(timeout=15)  # a hang is forever; 15 s only keeps a failing run short
            except subprocess.TimeoutExpired:
                ended = False
    finally:
        import sounddevice as sd

        sd._terminate()  # this process's PortAudio must see the restarted server too
        sd._initialize()
    assert ended, f"serve did not end after SIGTERM: {run.errors[-3000:]}"
    assert run.returncode == 0, run.errors
    assert "Traceback" not in run.errors
    lost = [e for e in transcript.events if e["type"] == "device" and "microphone lost" in e["text"]]
    assert len(lost) == RESTARTS, transcript.events
