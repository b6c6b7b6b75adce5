"""Issue 13 defect 1: a "repeat" that cuts a sentence being re-said must not stop the counting for good."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voiceguide.audio.clip import write_wav

from .test_run import espeak16k, events, voiceguide

PACK = """
[pack]
id = "stall"
title = "Counting"
language = "en-US"

[[steps]]
id = "circles"
title = "Circles"
area = "cheeks"
technique = "circles"
say = "Circle your fingertips on your cheeks, slowly and gently, from the nose toward the ears."

[[steps.strokes]]
count = 100
seconds = 2.0
cue = "and outward"
"""

SPOKEN = (("repeat", 20.0), ("help", 22.5), ("repeat", 25.5))
LENGTH = 45.0


def test_counting_resumes_after_a_repeat_that_cuts_the_instruction(tmp_path: Path) -> None:
    """The run's counting goes on after the second "repeat", as `simulate` says it does."""
    pack = tmp_path / "stall"
    pack.mkdir()
    (pack / "pack.toml").write_text(PACK, encoding="utf-8")
    rate = 16000
    audio = np.zeros(int(rate * LENGTH), dtype=np.float32)
    for word, at in SPOKEN:
        clip = espeak16k(word, tmp_path / f"{word}.wav")
        audio[int(at * rate): int(at * rate) + len(clip)] += clip
    source = tmp_path / "in.wav"
    write_wav(source, audio, rate)
    proc = voiceguide("run", str(pack), "--input-wav", str(source), "--output-wav", str(tmp_path / "out.wav"),
                      "--fast", "--tts", "pyttsx3", "--data-dir", str(tmp_path / "data"),
                      "--cache-dir", str(tmp_path / "cache"), "--json")
    assert proc.returncode == 0, proc.stderr
    out = events(proc.stdout)
    repeats = [float(e["t"]) for e in out if e["type"] == "command" and e["command"] == "repeat"]
    assert len(repeats) == 2, [e for e in out if e["type"] == "command"]
    last = repeats[-1]
    counts = [float(e["t"]) for e in out if e.get("kind") == "count" and float(e["t"]) > last]
    assert len(counts) >= 3, f"no counting after the repeat at {last:.1f} s: {out[-6:]}"
    assert any(e.get("state") == "strokes" and float(e["t"]) > last for e in out)
