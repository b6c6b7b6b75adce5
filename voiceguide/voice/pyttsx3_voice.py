"""The pyttsx3 engine (espeak-ng on Linux), driven in a child process that is restarted when it hangs."""

from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

from voiceguide.voice.base import VoiceError, VoiceInfo

__all__ = ["Pyttsx3Voice"]

_LOGGER = logging.getLogger(__name__)


class _Worker:
    """One `voiceguide.voice._pyttsx3_worker` process and its line-based JSON protocol."""

    def __init__(self, python: str, start_timeout: float) -> None:
        try:
            self._proc = subprocess.Popen(
                [python, "-m", "voiceguide.voice._pyttsx3_worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                bufsize=1,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        except OSError as exc:
            raise VoiceError(f"cannot start the pyttsx3 worker ({python}): {exc}") from exc
        self._answers: queue.Queue[str | None] = queue.Queue()
        assert self._proc.stdout is not None and self._proc.stderr is not None
        threading.Thread(target=self._pump, args=(self._proc.stdout, True), daemon=True,
                         name="pyttsx3-out").start()
        threading.Thread(target=self._pump, args=(self._proc.stderr, False), daemon=True,
                         name="pyttsx3-err").start()
        hello = self._read(start_timeout)
        if not hello.get("ok"):
            self.kill()
            raise VoiceError(str(hello.get("error", "pyttsx3 worker failed to start")))
        self.default_voice: str | None = hello.get("default_voice")

    def _pump(self, stream: IO[str], answers: bool) -> None:
        for line in stream:
            if answers:
                self._answers.put(line)
            elif line.strip():
                _LOGGER.debug("pyttsx3 worker: %s", line.rstrip())
        if answers:
            self._answers.put(None)

    def _read(self, timeout: float) -> dict[str, Any]:
        try:
            line = self._answers.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no answer from the pyttsx3 worker within {timeout:.0f} s") from None
        if line is None:
            raise VoiceError(f"the pyttsx3 worker exited (code {self._proc.wait()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def request(self, obj: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one request and wait for its answer."""
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(json.dumps(obj) + "\n")
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise VoiceError(f"the pyttsx3 worker is gone: {exc}") from exc
        return self._read(timeout)

    @property
    def alive(self) -> bool:
        """Whether the process still runs."""
        return self._proc.poll() is None

    def kill(self) -> None:
        """End the process now (it may be hung inside espeak)."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        for stream in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass

    def quit(self) -> None:
        """Ask the process to end, then make sure it did."""
        try:
            self.request({"op": "quit"}, timeout=2.0)
        except (TimeoutError, VoiceError, ValueError):
            pass
        self.kill()


class Pyttsx3Voice:
    """Renders sentences to WAV with pyttsx3 in a child process; a hung render is killed and retried once."""

    engine = "pyttsx3"

    def __init__(self, *, timeout: float = 30.0, python: str | None = None) -> None:
        self._timeout = timeout
        self._python = python or sys.executable
        self._lock = threading.Lock()
        self._worker: _Worker | None = None
        self._voices: list[VoiceInfo] | None = None
        self.restarts = 0
        """How many times a hung or dead worker was replaced."""

    def _ensure(self) -> _Worker:
        if self._worker is None or not self._worker.alive:
            if self._worker is not None:
                self._worker.kill()
                self.restarts += 1
            self._worker = _Worker(self._python, start_timeout=self._timeout)
        return self._worker

    def _call(self, obj: dict[str, Any], timeout: float) -> dict[str, Any]:
        with self._lock:
            for attempt in (1, 2):
                worker = self._ensure()
                try:
                    answer = worker.request(obj, timeout)
                except (TimeoutError, VoiceError, ValueError) as exc:
                    _LOGGER.warning("pyttsx3 worker failed (%s); restarting it (attempt %d)", exc, attempt)
                    worker.kill()
                    self._worker = None
                    self.restarts += 1
                    if attempt == 2:
                        raise VoiceError(f"pyttsx3 failed twice: {exc}") from exc
                    continue
                if not answer.get("ok"):
                    raise VoiceError(str(answer.get("error", "pyttsx3 failed")))
                return answer
        raise AssertionError("unreachable")

    def voices(self) -> list[VoiceInfo]:
        """The voices espeak-ng offers (asked once, then remembered)."""
        if self._voices is None:
            answer = self._call({"op": "voices"}, self._timeout)
            default = answer.get("default_voice")
            self._voices = [
                VoiceInfo(
                    engine=self.engine,
                    id=v["id"],
                    name=v["name"],
                    languages=tuple(v.get("languages", [])),
                    gender=v.get("gender"),
                    default=v["id"] == default,
                )
                for v in answer["voices"]
            ]
        return list(self._voices)

    def render(self, text: str, path: Path, *, voice: str | None, rate: int) -> None:
        """Write `text` spoken at `rate` words per minute to the WAV file `path`."""
        # espeak needs about 10 ms per second of speech; the timeout only catches hangs.
        timeout = self._timeout + len(text) / 50.0
        path.unlink(missing_ok=True)
        self._call({"op": "render", "text": text, "voice": voice, "rate": int(rate), "path": str(path)}, timeout)
        if not path.exists():
            raise VoiceError(f"pyttsx3 wrote no audio for {text!r}")

    def close(self) -> None:
        """Stop the worker process."""
        with self._lock:
            if self._worker is not None:
                self._worker.quit()
                self._worker = None
