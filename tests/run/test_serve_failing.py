"""`voiceguide serve` with a recognizer that fails every time it is loaded (a corrupt vosk model: the folder
looks like a model, vosk refuses it): each failure is logged with its traceback, and after a few in a row the
process exits 70 (EX_SOFTWARE), which the systemd unit restarts, instead of retrying in place forever."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from processes import ROOT


def _corrupt_vosk_model(folder: Path) -> Path:
    """am/ and conf/ as a vosk model has them, with contents vosk cannot read."""
    (folder / "am").mkdir(parents=True)
    (folder / "conf").mkdir()
    (folder / "am" / "final.mdl").write_bytes(os.urandom(4096))
    (folder / "conf" / "model.conf").write_text("--not-an-option=1\n")
    return folder


def test_serve_exits_for_a_restart_when_idle_listening_keeps_failing(virtual_audio: Any, tmp_path: Path) -> None:
    model = _corrupt_vosk_model(tmp_path / "model")
    env = {**os.environ, **virtual_audio.env}
    proc = subprocess.run(
        [sys.executable, "-m", "voiceguide", "serve", "--input-device", "vmic", "--output-device", "vspeaker",
         "--engine", "vosk", "--model", str(model), "--retry-seconds", "0.2",
         "--data-dir", str(tmp_path / "data"), "--json"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
    )
    assert proc.returncode == 70, proc.stderr[-3000:]
    # every failure whole: the traceback down to vosk's refusal, five times, then one line saying why it exits
    assert proc.stderr.count("idle listening failed; trying again") == 5, proc.stderr[-3000:]
    assert proc.stderr.count("Traceback (most recent call last)") >= 5
    assert proc.stderr.count("voiceguide.speech.base.EngineUnavailable: cannot load the vosk model") == 5
    assert "idle listening failed 5 times" in proc.stderr and "restarted" in proc.stderr
    errors = [line for line in proc.stdout.splitlines() if '"type": "error"' in line]
    assert len(errors) == 5, proc.stdout
