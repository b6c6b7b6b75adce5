"""Liveness on the live path: whatever is said, whenever, the guide never falls silent unless it should.

Hypothesis picks spoken commands and their moments; they reach the real `Runner` on its `--input-wav`
path (the virtual clock follows a silent input file, as `run --input-wav --output-wav --fast` does), and
the real Session, Speaker, Narrator and WavSink write the output WAV. Only the recognizer (commands at
the chosen times) and the speech engine (a tone as long as the sentence) are stand-ins, to stay fast.
The output is then read: no stretch of silence longer than a few seconds, except while the session is
paused, holding, asking, offering, stopped or finished.
"""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from voiceguide.audio.clip import write_wav
from voiceguide.core.commands import Command
from voiceguide.core.events import Heard
from voiceguide.packs.loader import LoadedPack, load_pack
from voiceguide.packs.timeline import speech_seconds
from voiceguide.packs.vocabulary import pack_vocabulary
from voiceguide.runtime.plan import IoPlan, RunSettings
from voiceguide.runtime.runner import Runner
from voiceguide.session.settings import SessionSettings
from voiceguide.session.transcript import Entry
from voiceguide.voice import narrator as narrator_module
from voiceguide.voice.base import VoiceInfo

PACK = """
[pack]
id = "liveness"
title = "Liveness"
language = "en-US"

[voice]
rate = 180

[intro]
say = ["Welcome.", "Sit comfortably."]

[closing]
say = "All done."

[[steps]]
id = "circles"
title = "Circles"
area = "cheeks"
technique = "circles"
say = "Circle your fingertips on your cheeks, from the nose toward the ears."

[[steps.strokes]]
count = 8
seconds = 1.5
cue = "and outward"

[[steps.strokes]]
say = "Now tap lightly."
count = 6
seconds = 1.0
count_aloud = false

[[steps]]
id = "breathe"
title = "Breathe"
area = "face"
technique = "rest"
say = "Breathe slowly."
hold = true

[[steps]]
id = "glides"
title = "Glides"
area = "neck"
technique = "glide"
say = "Glide down the neck."

[[steps.strokes]]
count = 10
seconds = 1.5
"""

LENGTH = 60.0
"""Seconds of input: the session lives on the input's timeline."""
QUIET_LIMIT = 5.0
"""Longest silence allowed while the routine moves: the longest beat (1.5 s × tempo 2) plus margin."""
QUIET_STATES = {"idle", "offer", "paused", "hold", "confirm_stop", "stopped", "finished"}
"""States in which the guide waits for the person, and may be silent as long as that takes."""
SPOKEN = [Command.REPEAT, Command.HELP, Command.NEXT, Command.BACK, Command.PAUSE, Command.RESUME,
          Command.SLOWER, Command.FASTER, Command.WHERE, Command.STOP, Command.YES, Command.NO,
          Command.READY, Command.LOUDER, Command.QUIETER, Command.START]
OUT_RATE = 22050
FRAME = 0.01


class ToneVoice:
    """A speech engine that 'says' a sentence as a steady tone lasting as long as the words would."""

    engine = "tone"

    def voices(self) -> list[VoiceInfo]:
        return [VoiceInfo(self.engine, "tone", "Tone", ("en-US",), default=True)]

    def render(self, text: str, path: Path, *, voice: str | None, rate: int) -> None:
        seconds = max(0.2, speech_seconds(text, rate))
        t = np.arange(int(seconds * OUT_RATE)) / OUT_RATE
        write_wav(path, (0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), OUT_RATE)

    def close(self) -> None:
        pass


class ScriptedListener:
    """A recognizer that hears the chosen commands at their moments in the input."""

    engine = "scripted"

    def __init__(self, script: list[tuple[float, Command]]) -> None:
        self._script = sorted(script, key=lambda item: item[0])

    def set_commands(self, commands: set[Command]) -> None:
        pass

    def feed(self, samples: Any, start: float) -> list[Heard]:
        end = start + len(samples) / 16000
        heard = [Heard(c.value, c, 1.0, t, t + 0.3, self.engine) for t, c in self._script if start <= t < end]
        self._script = [(t, c) for t, c in self._script if t >= end]
        return heard

    def flush(self) -> list[Heard]:
        return []

    def reset(self) -> None:
        pass


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LoadedPack, Path, Path]]:
    """The pack, a silent input file and a render cache, shared by every example."""
    root = tmp_path_factory.mktemp("liveness")
    (root / "pack").mkdir()
    (root / "pack" / "pack.toml").write_text(PACK, encoding="utf-8")
    silence = root / "in.wav"
    write_wav(silence, np.zeros(int(16000 * LENGTH), dtype=np.int16), 16000)
    mp = pytest.MonkeyPatch()
    mp.setattr(narrator_module, "make_voice", lambda engine="tone", voice=None: ToneVoice())
    yield load_pack(root / "pack"), silence, root
    mp.undo()


def run_live(loaded: LoadedPack, silence: Path, out: Path, cache: Path,
             script: list[tuple[float, Command]]) -> list[Entry]:
    """One `run --input-wav --output-wav --fast` with the script's commands heard at their times."""
    entries: list[Entry] = []
    settings = RunSettings(input_wav=silence, output_wav=out, fast=True, cache_dir=cache,
                           session=SessionSettings(remember_tempo=False))
    runner = Runner(loaded, settings, IoPlan("wav", "wav"), None, pack_vocabulary(loaded.pack), entries.append,
                    lambda: ScriptedListener(script))
    runner.run()
    return entries


def quiet_stretches(path: Path) -> list[tuple[float, float]]:
    """Where the output WAV is silent: (start, end) in seconds."""
    with wave.open(str(path)) as w:
        rate = w.getframerate()
        audio = np.abs(np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768)
    n = int(rate * FRAME)
    frames = audio[: len(audio) // n * n].reshape(-1, n).max(axis=1)
    loud = frames > 0.002
    stretches, start = [], None
    for i, is_loud in enumerate([*loud, True]):
        if not is_loud and start is None:
            start = i
        elif is_loud and start is not None:
            stretches.append((start * FRAME, i * FRAME))
            start = None
    return stretches


def states_over_time(entries: list[Entry]) -> list[tuple[float, str]]:
    """(time, state) at each state change."""
    return [(e.t, str(e.data["state"])) for e in entries if e.type == "state"]


def unexcused(stretch: tuple[float, float], states: list[tuple[float, str]]) -> list[tuple[float, float]]:
    """The parts of a silent stretch spent in states that should be making sound."""
    a, b = stretch
    parts: list[tuple[float, float]] = []
    edges = [(t, s) for t, s in states if a < t < b]
    before = [s for t, s in states if t <= a]
    state, start = (before[-1] if before else "idle"), a
    for t, s in [*edges, (b, "")]:
        if state not in QUIET_STATES:
            parts.append((start, t))
        state, start = s, t
    return parts


moments = st.lists(st.tuples(st.floats(0.2, 10.0), st.sampled_from(SPOKEN)), min_size=1, max_size=14)
"""Commands, each some seconds after the one before."""

LIVENESS = settings(max_examples=25, deadline=None, print_blob=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
"""About 0.7 s an example (a whole run writing a minute of WAV): a few dozen keep the suite's budget."""


@LIVENESS
@example([(20.0, Command.REPEAT), (2.5, Command.HELP), (3.0, Command.REPEAT)])  # issue 13, defect 1
@example([(9.0, Command.PAUSE), (0.1, Command.RESUME), (0.1, Command.REPEAT), (0.05, Command.REPEAT)])
@given(moments)
def test_never_silent_for_long_unless_waiting(setup: tuple[LoadedPack, Path, Path],
                                             gaps: list[tuple[float, Command]]) -> None:
    loaded, silence, root = setup
    script, t = [], 0.0
    for gap, command in gaps:
        t += gap
        if t < LENGTH - 5:
            script.append((round(t, 2), command))
    out = root / "out.wav"
    entries = run_live(loaded, silence, out, root / "cache", script)
    states = states_over_time(entries)
    end = max(e.t for e in entries)
    for stretch in quiet_stretches(out):
        for a, b in unexcused(stretch, states):
            if b - a > QUIET_LIMIT and a < end:
                lines = "\n".join(e.as_line() for e in entries if a - 10 <= e.t <= b)
                pytest.fail(f"silent from {a:.2f} to {b:.2f} s while the routine should be moving; "
                            f"commands {script}; transcript around it:\n{lines}")
