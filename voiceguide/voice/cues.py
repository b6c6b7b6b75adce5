"""Non-speech cues made in code (no shipped files): a soft chime at step changes, a tick per repetition."""

from __future__ import annotations

import numpy as np

from voiceguide.audio.clip import Clip

__all__ = ["CUES", "chime", "tick", "cue"]


def _envelope(n: int, sample_rate: int, attack: float, decay: float) -> np.ndarray:
    """A short linear attack (no click) then an exponential decay with time constant `decay` seconds."""
    t = np.arange(n, dtype=np.float32) / sample_rate
    env = np.exp(-t / decay).astype(np.float32)
    a = max(1, int(attack * sample_rate))
    env[:a] *= np.linspace(0.0, 1.0, a, dtype=np.float32)
    tail = max(1, int(0.01 * sample_rate))
    env[-tail:] *= np.linspace(1.0, 0.0, tail, dtype=np.float32)
    return env


def chime(sample_rate: int = 48000, level: float = 0.25) -> Clip:
    """A soft two-partial bell (A5 with a fifth above), 0.9 s, for step changes."""
    n = int(0.9 * sample_rate)
    t = np.arange(n, dtype=np.float32) / sample_rate
    tone = np.sin(2 * np.pi * 880.0 * t) + 0.4 * np.sin(2 * np.pi * 1320.0 * t) + 0.15 * np.sin(2 * np.pi * 1760.0 * t)
    samples = (level / 1.55) * tone * _envelope(n, sample_rate, attack=0.008, decay=0.25)
    return Clip(samples.astype(np.float32), sample_rate, "", "chime")


def tick(sample_rate: int = 48000, level: float = 0.2) -> Clip:
    """A short wooden tick, 60 ms, for a repetition that is not counted aloud."""
    n = int(0.06 * sample_rate)
    t = np.arange(n, dtype=np.float32) / sample_rate
    tone = np.sin(2 * np.pi * 1600.0 * t) + 0.5 * np.sin(2 * np.pi * 2400.0 * t)
    samples = (level / 1.5) * tone * _envelope(n, sample_rate, attack=0.002, decay=0.012)
    return Clip(samples.astype(np.float32), sample_rate, "", "tick")


CUES = {"chime": chime, "tick": tick}
"""Cue names a `events.Cue.sound` may carry."""


def cue(name: str, sample_rate: int = 48000) -> Clip:
    """The cue called `name`; raises KeyError naming the known ones."""
    try:
        return CUES[name](sample_rate)
    except KeyError:
        raise KeyError(f"unknown cue {name!r} (known: {', '.join(sorted(CUES))})") from None
