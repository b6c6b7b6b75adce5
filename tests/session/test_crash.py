"""A power cut (SIGKILL) mid-routine loses at most the current repetition: restart, resume, carry on."""

from __future__ import annotations

import json
import os
import queue
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from voiceguide.store import DB_NAME

from .conftest import PACKS

TIMEOUT = 60.0


class Console:
    """`voiceguide session console` in a subprocess, its JSON lines read with a timeout."""

    def __init__(self, data_dir: Path, pack: Path, speed: float) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "voiceguide", "session", "console", str(pack), "--data-dir", str(data_dir),
             "--speed", str(speed), "--json"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        self.lines: queue.Queue[dict | None] = queue.Queue()
        self.seen: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        step = 0
        for line in self.proc.stdout:
            obj = json.loads(line)
            if obj["type"] == "state" and "step" in obj:
                step = obj["step"]
            obj["_step"] = step  # the step each line was printed in
            self.seen.append(obj)
            self.lines.put(obj)
        self.lines.put(None)

    def rest(self) -> list[dict]:
        """Every line printed, once the output has ended (after a kill)."""
        while True:
            try:
                if self.lines.get(timeout=TIMEOUT) is None:
                    return self.seen
            except queue.Empty:
                pytest.fail("the output did not end")

    def until(self, match) -> dict:
        """The first line for which `match(obj)` is true (fails after TIMEOUT or at the end of output)."""
        while True:
            try:
                obj = self.lines.get(timeout=TIMEOUT)
            except queue.Empty:
                pytest.fail("no matching output in time")
            if obj is None:
                err = self.proc.stderr.read() if self.proc.stderr else ""
                pytest.fail(f"the console ended first: {err}")
            if match(obj):
                return obj

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        self.proc.kill()  # SIGKILL: no cleanup, no final write
        self.proc.wait(timeout=TIMEOUT)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if f is not None:
                f.close()


def _is_count(obj: dict) -> bool:
    return obj["type"] == "say" and obj.get("kind") == "count"


def _checkpoint(data_dir: Path) -> tuple[int, str, int, int, int]:
    db = sqlite3.connect(data_dir / DB_NAME)
    try:
        return db.execute("SELECT step, step_id, grp, done, resumable FROM sessions ORDER BY id DESC LIMIT 1"
                          ).fetchone()
    finally:
        db.close()


@pytest.mark.parametrize("kill_after", ["7", "glides", "2.5 s"])
def test_sigkill_mid_routine_then_resume_continues_from_the_checkpoint(tmp_path, kill_after):
    pack = PACKS / "long-count"
    first = Console(tmp_path, pack, speed=8.0)
    try:
        if kill_after == "glides":  # mid-narration of step 2
            first.until(lambda o: o["type"] == "say" and o["text"] == "Long glides.")
        elif kill_after.endswith(" s"):  # whatever moment that is
            first.until(lambda o: o["type"] == "state")
            time.sleep(float(kill_after.split()[0]))
        else:  # mid-count in step 1
            first.until(lambda o: _is_count(o) and o["text"] == kill_after)
        first.kill()
        heard = first.rest()  # what was printed up to the moment of death
    finally:
        first.close()
    step_heard = max(o["step"] for o in heard if o["type"] == "state")
    counts = [int(o["text"]) for o in heard if _is_count(o) and o["_step"] == step_heard]
    last_count = counts[-1] if counts else 0

    step, step_id, group, done, resumable = _checkpoint(tmp_path)
    assert resumable == 1
    assert (step, step_id, group) == (step_heard, ["circles", "glides"][step_heard], 0)
    assert done in (max(last_count - 1, 0), last_count)  # at most the repetition in progress is lost

    second = Console(tmp_path, pack, speed=8.0)
    try:
        offer = second.until(lambda o: o["type"] == "say" and o.get("kind") == "hint")
        title = ["Circles", "Glides"][step]
        assert offer["text"].startswith(f"You stopped at step {step + 1}, {title}.")
        second.send("resume")
        welcome = second.until(lambda o: o["type"] == "say")
        assert welcome["text"] == f"Welcome back. Step {step + 1}, {title}."
        count = second.until(_is_count)
        assert int(count["text"]) == done + 1
        state = _checkpoint(tmp_path)
        assert state[:2] == (step, step_id)
        second.send("stop")
        second.send("yes")
        second.until(lambda o: o["type"] == "state" and o["state"] == "stopped")
        assert second.proc.wait(timeout=TIMEOUT) == 0
    finally:
        second.close()
