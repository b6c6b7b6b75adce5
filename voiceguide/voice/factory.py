"""The one factory for speech engines: each engine is imported here, only when it is chosen."""

from __future__ import annotations

import logging

from voiceguide.voice.base import Voice, VoiceError

__all__ = ["ENGINES", "make_voice", "resolve_engine"]

_LOGGER = logging.getLogger(__name__)

ENGINES = ("pyttsx3", "piper")
"""Engines behind the `Voice` protocol: pyttsx3 always, Piper with the `voiceguide[neural]` extra ("auto" picks)."""


def make_voice(engine: str = "pyttsx3", voice: str | None = None) -> Voice:
    """The one factory for speech engines (tests plug in here); `voice` lets Piper take a `.onnx` path."""
    if engine == "pyttsx3":
        from voiceguide.voice.pyttsx3_voice import Pyttsx3Voice

        return Pyttsx3Voice()
    if engine == "piper":
        from voiceguide.voice.piper_voice import PiperVoice

        return PiperVoice(extra=[voice] if voice and voice.lower().endswith(".onnx") else ())
    raise VoiceError(f"unknown speech engine {engine!r} (available: {', '.join(ENGINES)})")


def resolve_engine(engine: str, language: str | None = None, voice: str | None = None) -> str:
    """The engine `auto` stands for: Piper where it has the named voice or one for the language, else pyttsx3."""
    if engine != "auto":
        return engine
    if voice and voice.lower().endswith(".onnx"):
        return "piper"  # a Piper model file: Piper says clearly if it cannot use it
    from voiceguide.voice.piper_voice import piper_installed, piper_voice_for

    found = piper_voice_for(language, voice)
    if found is not None:
        _LOGGER.info("narration: Piper, voice %s (%s)", found.id, found.source)
        return "piper"
    why = ("Piper is not installed" if not piper_installed()
           else f"Piper has no voice {voice!r}" if voice else f"Piper has no voice for {language or 'this language'}")
    _LOGGER.info("narration: pyttsx3 (%s)", why)
    return "pyttsx3"
