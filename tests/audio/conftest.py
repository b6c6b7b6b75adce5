"""Shared by the device tests: a recorder for what a speaker or microphone reports, and a check that sound arrived
intact."""

from __future__ import annotations

import threading
from typing import Any

import pytest


class Recorder:
    """Pass as a listener (`on_status`, `subscribe`); then wait for what it was told (anything with a `.state`)."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._changed = threading.Condition()

    def __call__(self, item: Any) -> None:
        with self._changed:
            self.items.append(item)
            self._changed.notify_all()

    def reach(self, states: list[str], timeout: float) -> bool:
        """Whether the states told become exactly `states` within `timeout` seconds."""
        with self._changed:
            return self._changed.wait_for(lambda: [s.state for s in self.items] == states, timeout=timeout)

    def first(self, state: str, timeout: float = 10.0) -> Any:
        """The first item in `state`, waiting for it up to `timeout` seconds."""
        with self._changed:
            assert self._changed.wait_for(lambda: any(n.state == state for n in self.items), timeout), self.items
            return next(n for n in self.items if n.state == state)


@pytest.fixture
def statuses() -> Recorder:
    """Device status reports (lost, restored)."""
    return Recorder()


@pytest.fixture
def notices() -> Recorder:
    """Now-playing notices (started, finished…)."""
    return Recorder()


def piece_matches(heard: Any, ref: Any, rate: int, piece_seconds: float = 0.25) -> list[tuple[float, float]]:
    """(where, NCC) for each voiced quarter second of `ref`, each matched in `heard` after the previous one.

    Checked piece by piece: on a loaded machine an underrun puts a gap in the sound, which one alignment of
    the whole punishes (whole-clip NCC fell to 0.35 in 1 run of 8) although every sound arrived intact;
    a piece that straddles such a gap matches poorly, the others still match.
    """
    import numpy as np

    piece = int(rate * piece_seconds)
    at, out = 0, []
    for start in range(0, len(ref) - piece + 1, piece):
        part = ref[start : start + piece]
        if np.sqrt(np.mean(part**2)) < 0.01:
            continue  # a pause between words matches anywhere
        window = heard[at:]
        if len(window) < len(part):
            out.append((start / rate, 0.0))
            continue
        corr = np.correlate(window, part, "valid")
        energy = np.sqrt(np.convolve(window**2, np.ones(len(part)), "valid"))
        ncc = corr / (energy * np.linalg.norm(part) + 1e-12)
        lag = int(np.argmax(ncc))
        out.append((start / rate, float(ncc[lag])))
        at += lag + len(part)
    return out


def arrived_intact(heard: Any, ref: Any, rate: int) -> tuple[bool, list[tuple[float, float]]]:
    """Whether `ref` is in `heard`, in order: at least 80 % of its voiced quarter seconds with NCC > 0.9."""
    pieces = piece_matches(heard, ref, rate)
    good = sum(ncc > 0.9 for _, ncc in pieces)
    return bool(pieces) and good >= 0.8 * len(pieces), pieces


@pytest.fixture
def intact() -> Any:
    """`intact(heard, ref, rate)` → (ok, pieces); see `arrived_intact`."""
    return arrived_intact
