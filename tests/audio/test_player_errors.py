"""The speaker's audio-callback errors are logged, never only counted: the first one with its traceback, then a
count at most every `error_log_seconds` (each failed block is a silent one, and there may be hundreds a second).

The failure is real: a stereo clip (frames × 2) handed to a mono mixer cannot be mixed, so every block the
callback renders while it is queued raises."""

from __future__ import annotations

import logging
import time

import numpy as np
import pytest

from voiceguide.audio.clip import Clip
from voiceguide.audio.player import Player, PlayerSettings


def test_callback_errors_are_logged_first_whole_then_as_a_count(virtual_audio: object,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="voiceguide.audio.player")
    player = Player(PlayerSettings(device="vspeaker", error_log_seconds=0.5))
    try:
        player.play(Clip(np.full((player.sample_rate, 2), 0.1, np.float32), player.sample_rate, "stereo"))
        time.sleep(1.6)
    finally:
        player.close()  # the count so far is logged on the way out
    assert player.errors > 50  # 10 ms blocks for 1.6 s
    records = [r for r in caplog.records if r.name == "voiceguide.audio.player"]
    whole = [r for r in records if r.exc_info]
    assert len(whole) == 1 and whole[0].exc_info[0] is ValueError, records
    assert "audio callback failed" in whole[0].getMessage()
    counts = [r.getMessage() for r in records if not r.exc_info]
    assert 2 <= len(counts) <= 6, counts  # rate-limited: about one per half second, and one at close
    assert counts[-1].endswith(f"({player.errors} in all), each a silent block")  # every error accounted for
