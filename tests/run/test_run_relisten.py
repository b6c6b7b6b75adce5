"""Listening outlives its failures (issue 13, "paused and deaf"): when the recognizer fails mid-session, the
session pauses, listening restarts after a growing pause (1, 2, 4… s) and says so, and a spoken "resume" is
heard afterwards, on the virtual devices with the real recognizer.

The first failure is a stand-in: a real recognizer whose first `feed` raises (a decoder crashing mid-stream,
which this machine cannot make happen on demand). The restarts then meet a real failure: the recognizer's
model file (its MLLR transform) is corrupt, so pocketsphinx itself refuses to load, twice, until the file is
put right."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from processes import Events, say_until, spoken


class Entries(Events):
    """The run's transcript as `--json` dicts, as the in-process Runner writes them."""

    def __call__(self, entry: Any) -> None:
        self.add(entry.as_dict())


class FailsFirstFeed:
    """Stand-in for a recognizer that crashes mid-stream: a real one whose first `feed` raises."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.engine = inner.engine
        self._failed = False

    def feed(self, samples: np.ndarray, start: float) -> list[Any]:
        if not self._failed:
            self._failed = True
            raise RuntimeError("the decoder crashed (stand-in)")
        return self._inner.feed(samples, start)

    def flush(self) -> list[Any]:
        return self._inner.flush()

    def set_commands(self, commands: Any) -> None:
        self._inner.set_commands(commands)

    def reset(self) -> None:
        self._inner.reset()


def test_listening_restarts_with_back_off_and_hears_resume(virtual_audio: Any, tmp_path: Path) -> None:
    from voiceguide.packs.loader import load_pack
    from voiceguide.packs.vocabulary import pack_vocabulary
    from voiceguide.runtime.plan import IoPlan, RunSettings
    from voiceguide.runtime.runner import Runner
    from voiceguide.session.settings import SessionSettings
    from voiceguide.speech.base import RecognitionSettings
    from voiceguide.speech.factory import create_recognizer
    from voiceguide.speech.sphinx import _BUILTIN_MLLR

    loaded = load_pack("facial-massage", tmp_path / "packs")
    vocabulary = pack_vocabulary(loaded.pack)
    mllr = tmp_path / "en-us.mllr"
    shutil.copyfile(_BUILTIN_MLLR, mllr)
    made: list[Any] = []

    def listener() -> Any:
        recognizer, _ = create_recognizer(RecognitionSettings(engine="pocketsphinx", language="en-US", mllr=mllr),
                                          vocabulary)
        made.append(recognizer)
        if len(made) == 1:
            mllr.write_bytes(b"not an MLLR transform\n" * 8)  # from now on the model cannot be loaded
            return FailsFirstFeed(recognizer)
        return recognizer

    settings = RunSettings(input_device="vmic", output_device="vspeaker", tts="pyttsx3", cache_dir=tmp_path / "cache",
                           echo_cancel=False, session=SessionSettings(data_dir=tmp_path / "data"))
    entries = Entries()
    runner = Runner(loaded, settings, IoPlan("mic", "device"), None, vocabulary, entries, listener)
    thread = threading.Thread(target=runner.run, name="run")
    started = time.monotonic()
    thread.start()
    try:
        failures = [entries.wait_for(lambda e: e["type"] == "device" and "listening failed" in e["text"], 60)
                    for _ in range(3)]
        assert "stand-in" in failures[0]["text"]
        assert all("Failed to initialize PocketSphinx" in f["text"] for f in failures[1:]), failures
        assert [f["text"].rsplit("again in ", 1)[1] for f in failures] == ["1 s", "2 s", "4 s"]
        shutil.copyfile(_BUILTIN_MLLR, mllr)  # the model is put right: the next restart loads it
        entries.wait_for(lambda e: e["type"] == "device" and e["text"] == "listening again", 30)
        assert [e["state"] for e in entries.events if e["type"] == "state"][-1] == "paused"
        hints = [e["hint"] for e in entries.events if e["type"] == "device" and "hint" in e]
        assert hints == ["I can't hear you for a moment. I'll keep your place and listen again shortly.",
                         "I can hear you again. Say resume to carry on."]  # said once, not at every retry
        time.sleep(5.0)  # "I can hear you again. Say resume to carry on." is said first
        say_until(entries, spoken("resume", tmp_path), lambda e: e["type"] == "command" and e["command"] == "resume"
                  and e["source"] == "voice" and e["acted"])
        say_until(entries, spoken("pause", tmp_path), lambda e: e["type"] == "command" and e["command"] == "pause"
                  and e["source"] == "voice" and e["acted"])
    finally:
        runner.stop()
        thread.join(timeout=20)
    assert not thread.is_alive()
    assert len(made) == 2  # the first recognizer and the one built once the model was right again
    assert time.monotonic() - started < 120
