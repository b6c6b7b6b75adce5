"""The tests' view of scripts/corpus.py: one copy of the audio helpers, shared with the tuning and bench scripts."""

from __future__ import annotations

import sys
from pathlib import Path

_SCRIPTS = str(Path(__file__).resolve().parents[2] / "scripts")
if _SCRIPTS not in sys.path:
    sys.path.insert(0, _SCRIPTS)

from corpus import (  # noqa: E402 - after the path set-up above
    CORPUS,
    RATE,
    CorpusClip,
    corpus_available,
    corpus_clips,
    decode,
    espeak,
    held_out_clips,
    mix,
    narration_audio,
    pack_narration,
    read16,
    silence,
)

__all__ = ["CORPUS", "RATE", "CorpusClip", "corpus_available", "corpus_clips", "decode", "espeak", "held_out_clips",
           "mix", "narration_audio", "pack_narration", "read16", "silence"]
