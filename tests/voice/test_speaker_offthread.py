"""Issue 13 defect 5: a sentence missing from the render cache must not delay the next beat.

A "help" during counting needs a sentence nobody rendered ahead. Its synthesis is held back here until
the test lets it go; meanwhile the virtual clock moves on and the next counts must play on their beats.
Nothing is timed by the wall clock: the assertions are on the virtual clock's times and on the order
in which things happened.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from voiceguide.audio.clip import write_wav
from voiceguide.audio.wav_sink import WavSink
from voiceguide.core.commands import Command
from voiceguide.core.events import CommandEvent, NowPlaying, Say
from voiceguide.packs.loader import load_pack
from voiceguide.session.clock import VirtualClock
from voiceguide.session.machine import State
from voiceguide.session.session import Session
from voiceguide.voice.base import VoiceInfo
from voiceguide.voice.narrator import Narrator, NarratorSettings
from voiceguide.voice.render import pack_sentences
from voiceguide.voice.speaker import Speaker

PACK = """
[pack]
id = "beats"
title = "Beats"
language = "en-US"

[[steps]]
id = "circles"
title = "Circles"
area = "cheeks"
technique = "circles"
say = "Circle outward."

[[steps.strokes]]
count = 20
seconds = 2.0
"""

RATE = 16000
HELD = "You can say"
"""Sentences starting so are synthesized only when the test allows it."""


class GatedVoice:
    """A tone for every sentence; the help sentence waits for `release` (as a slow engine would)."""

    engine = "gated"

    def __init__(self, log: list[str]) -> None:
        self.release = threading.Event()
        self.log = log

    def voices(self) -> list[VoiceInfo]:
        return [VoiceInfo(self.engine, "tone", "Tone", ("en-US",), default=True)]

    def render(self, text: str, path: Path, *, voice: str | None, rate: int) -> None:
        if text.startswith(HELD):
            self.release.wait(timeout=10)  # never reached when it renders off the clock's thread
            self.log.append("help rendered")
        t = np.arange(int(0.4 * RATE)) / RATE
        write_wav(path, (0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), RATE)

    def close(self) -> None:
        pass


def test_a_missing_sentence_does_not_delay_the_next_beat(tmp_path: Path) -> None:
    (tmp_path / "beats").mkdir()
    (tmp_path / "beats" / "pack.toml").write_text(PACK, encoding="utf-8")
    pack = load_pack(tmp_path / "beats").pack
    log: list[str] = []
    voice = GatedVoice(log)
    narrator = Narrator(NarratorSettings(cache_dir=tmp_path / "cache", language="en-US"), voice=voice)
    clock = VirtualClock()
    posted: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
    sink = WavSink(tmp_path / "out.wav", clock.now, sample_rate=RATE)
    started: list[NowPlaying] = []

    def heard(notice: NowPlaying) -> None:
        if notice.state == "started":
            started.append(notice)
            log.append(f"started {notice.text}")

    sink.subscribe(heard)
    session: Session
    speaker = Speaker(narrator, sink, lambda say: session.narration_done(say), post=posted.put)
    session = Session(pack, "", clock, speaker.handle)
    for text in [s.text for s in pack_sentences(pack)] + [str(n) for n in range(1, 21)]:
        narrator.render(text)  # the pack rendered ahead, as `pack render` does

    def run_until(t: float) -> None:
        """The run loop: what the worker finished joins the clock's thread, then time moves in 10 ms steps."""
        while clock.now() < t - 1e-9:
            while not posted.empty():
                posted.get()()
            step = min(t, clock.now() + 0.01)
            clock.advance_to(step)
            sink.advance_to(step)
            clock.advance_to(step)

    clock.post(session.start)
    run_until(5.0)
    assert session.state is State.STROKES
    beat = session.next_event()
    assert beat is not None and beat[0] == "beat"
    asked = clock.now()
    session.handle(CommandEvent(Command.HELP, asked))
    after = beat[1]
    run_until(after + 4.5)  # the help is still rendering: the next beats must come anyway
    counts_after = [n for n in started if n.start >= asked and n.text.isdigit()]
    assert [round(n.start - after, 2) for n in counts_after][:3] == [0.0, 2.0, 4.0]
    assert "help rendered" not in log  # the clock moved on while it rendered

    voice.release.set()
    while not any(n.text.startswith(HELD) for n in started):
        item = posted.get(timeout=10)  # the worker hands the help back to the clock's thread
        item()
        run_until(clock.now() + 0.05)
    help_start = next(n.start for n in started if n.text.startswith(HELD))
    assert help_start >= after + 4.5  # said when it was ready, on the virtual timeline
    assert log.index("help rendered") > log.index(f"started {counts_after[2].text}")
    run_until(clock.now() + 4.0)
    assert any(n.text.isdigit() and n.start > help_start for n in started)  # the counting goes on
    sink.close()
    narrator.close()


def test_without_post_a_missing_sentence_is_made_at_once(tmp_path: Path) -> None:
    """A virtual clock's run (no `post`): synthesis takes no clock time, so the sentence plays at its moment."""
    log: list[str] = []
    voice = GatedVoice(log)
    voice.release.set()
    narrator = Narrator(NarratorSettings(cache_dir=tmp_path / "cache", language="en-US"), voice=voice)
    clock = VirtualClock()
    sink = WavSink(tmp_path / "out.wav", clock.now, sample_rate=RATE)
    started: list[NowPlaying] = []
    sink.subscribe(lambda n: started.append(n) if n.state == "started" else None)
    speaker = Speaker(narrator, sink)
    clock.advance_to(3.0)
    speaker.handle(Say("You can say: next.", 3.0, kind="hint"))
    clock.advance_to(3.5)
    sink.advance_to(3.5)
    assert [round(n.start, 2) for n in started] == [3.0]
    sink.close()
    narrator.close()


def test_closing_waits_for_the_sentence_being_made_before_releasing_the_engine(tmp_path: Path) -> None:
    """The engine was released under a sentence still rendering off-thread: serve aborted at exit ('terminate
    called without an active exception') when stopped while Piper was mid-sentence."""
    from voiceguide.core.events import Say
    from voiceguide.voice.render_worker import Rendering, RenderWorker

    narrator = Narrator(NarratorSettings(cache_dir=tmp_path / "cache", language="en-US"))
    posted: list[Callable[[], None]] = []
    worker = RenderWorker(narrator, posted.append, lambda job: None)
    job = Rendering(Say("Glide your fingertips slowly outward toward your temples and rest there.", 0.0), 0)
    worker.submit(job)
    worker.close()
    assert job.ready.is_set() and job.clip is not None and not job.failed  # made whole before close returned
    narrator.close()
