"""Helpers for tests that run voiceguide in a subprocess on the virtual sound devices."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]

__all__ = ["ROOT", "Running", "Transcript", "say_until", "spoken"]


def spoken(word: str, tmp: Path) -> tuple[np.ndarray, int]:
    """A command word as a person might say it, synthesized by espeak-ng, with a breath of quiet around it.

    espeak-ng's WAV starts on the word's first sample; a freshly opened playback stream into the virtual
    microphone can lose its first few milliseconds, which turned "resume" into "do" in one run out of four.
    """
    path = tmp / f"{word}.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-w", str(path), word], check=True, timeout=30)
    with wave.open(str(path)) as w:
        audio = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768
        rate = w.getframerate()
    quiet = np.zeros(int(0.3 * rate), dtype=np.float32)
    return np.concatenate([quiet, audio, quiet]), rate


def say_until(transcript: Transcript, said: tuple[np.ndarray, int], expect: Any, tries: int = 3,
              wait: float = 8.0) -> dict[str, Any]:
    """Speak into the virtual microphone until `expect` is seen, as a person repeats a command not heard."""
    import sounddevice as sd

    samples, rate = said
    for attempt in range(tries):
        sd.play(samples, rate, device="vmic_feed", blocking=True)
        try:
            return transcript.wait_for(expect, wait)
        except AssertionError:
            if attempt == tries - 1:
                raise
    raise AssertionError("unreachable")


class Events:
    """`run --json` events as they come, waited on with a timeout."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._new: queue.Queue[dict[str, Any]] = queue.Queue()

    def add(self, event: dict[str, Any]) -> None:
        """One more event (from any thread)."""
        self.events.append(event)
        self._new.put(event)

    def ever(self, test: Any, timeout: float) -> dict[str, Any]:
        """An event seen at any time so far, or the next one that passes."""
        for event in list(self.events):
            if test(event):
                return event
        return self.wait_for(test, timeout)

    def wait_for(self, test: Any, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self._new.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if test(event):
                return event
        raise AssertionError(f"not seen within {timeout} s; last events: {self.events[-8:]}")


class Transcript(Events):
    """Reads `run --json` output on a thread."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        super().__init__()
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("{"):
                self.add(json.loads(line))

    def join(self) -> None:
        """Wait until the output has been read to its end."""
        self._thread.join(timeout=10)


class Running:
    """`voiceguide ARGS` in a subprocess on the virtual devices, its transcript read as it goes; on exit it is
    ended with SIGTERM (as systemd does) and its exit code and stderr are kept."""

    def __init__(self, virtual_audio: Any, *args: str) -> None:
        env = {**os.environ, **virtual_audio.env}
        self.proc = subprocess.Popen([sys.executable, "-m", "voiceguide", *args], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        self.transcript = Transcript(self.proc)
        self.errors = ""

    def __enter__(self) -> Transcript:
        return self.transcript

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=20)
        self.transcript.join()
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self.errors = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode
