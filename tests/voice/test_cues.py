"""Cues are generated in code: a soft chime and a short tick, at any rate, without clicks."""

from __future__ import annotations

import numpy as np
import pytest

from voiceguide.voice.cues import chime, cue, tick


@pytest.mark.parametrize("rate", [16000, 22050, 44100, 48000])
def test_chime_and_tick_are_soft_short_and_click_free(rate: int) -> None:
    c, t = chime(rate), tick(rate)
    assert c.sample_rate == t.sample_rate == rate
    assert c.duration == pytest.approx(0.9, abs=0.01) and t.duration == pytest.approx(0.06, abs=0.005)
    for clip in (c, t):
        x = clip.samples
        assert 0.05 < np.abs(x).max() <= 0.3  # soft, never clipping
        assert abs(x[0]) < 1e-3 and abs(x[-1]) < 1e-3  # starts and ends at silence: no click
    spectrum = np.abs(np.fft.rfft(c.samples))
    assert np.fft.rfftfreq(len(c.samples), 1 / rate)[np.argmax(spectrum)] == pytest.approx(880, abs=3)


def test_cues_by_name() -> None:
    assert cue("tick", 16000).kind == "tick"
    assert cue("chime").kind == "chime"
    with pytest.raises(KeyError, match="known: chime, tick"):
        cue("gong")
