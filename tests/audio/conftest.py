"""Shared by the device tests: a recorder for the status reports a speaker or microphone sends."""

from __future__ import annotations

import threading
from typing import Any

import pytest


class Statuses:
    """Pass as `on_status`; then wait until the reported states are exactly a given sequence."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._changed = threading.Condition()

    def __call__(self, status: Any) -> None:
        with self._changed:
            self.items.append(status)
            self._changed.notify_all()

    def reach(self, states: list[str], timeout: float) -> bool:
        """Whether the states reported become `states` within `timeout` seconds."""
        with self._changed:
            return self._changed.wait_for(lambda: [s.state for s in self.items] == states, timeout=timeout)


@pytest.fixture
def statuses() -> Statuses:
    return Statuses()
