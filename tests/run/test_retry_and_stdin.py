"""The live loops' retry policy (back-off, a limit on repeated failures) and the process's one stdin reader."""

from __future__ import annotations

import os
import threading

import pytest

from voiceguide.runtime.retry import Backoff, FailureWindow, RepeatedFailure
from voiceguide.runtime.stdin_reader import StdinReader


def test_backoff_doubles_up_to_its_cap_and_starts_over_after_a_quiet_stretch() -> None:
    now = [0.0]
    backoff = Backoff(first=1.0, cap=30.0, quiet=60.0, clock=lambda: now[0])
    assert [backoff.next() for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    now[0] = 100.0  # a minute and more without a failure
    assert backoff.next() == 1.0


def test_failure_window_raises_at_the_limit_within_the_window_only() -> None:
    now = [0.0]
    window = FailureWindow(limit=3, window=10.0, clock=lambda: now[0])
    window.failed("x")
    now[0] = 20.0  # the first one is out of the window
    window.failed("x")
    window.failed("x")
    with pytest.raises(RepeatedFailure, match="x failed 3 times within 10 s"):
        window.failed("x")
    window.clear()
    window.failed("x")  # forgotten: no raise


def test_one_reader_hands_each_line_to_the_handler_attached_now() -> None:
    r, w = os.pipe()
    with os.fdopen(r, encoding="utf-8") as lines:
        _hand_over(StdinReader(lines), w)


def _hand_over(reader: StdinReader, w: int) -> None:
    first: list[str] = []
    second: list[str] = []
    got = threading.Event()
    ended = threading.Event()
    detach = reader.attach(lambda line: (first.append(line), got.set()))
    os.write(w, b"pause\n")
    assert got.wait(5)
    got.clear()
    detach()  # the first session is over; its reader would have kept waiting on the terminal
    reader.attach(lambda line: (second.append(line), got.set()), ended.set)
    os.write(w, b"resume\n")
    assert got.wait(5)
    os.close(w)
    assert ended.wait(5)
    assert first == ["pause\n"] and second == ["resume\n"]
    late = threading.Event()
    reader.attach(lambda line: None, late.set)  # input already ended: told at once
    assert late.is_set()
