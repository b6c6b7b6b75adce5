"""The one factory that picks a speech engine and makes its recognizer (vosk, the keyword model, pocketsphinx).

Each engine is imported only here, when it is chosen: a base module never imports its engines.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from voiceguide.core.commands import Command, Vocabulary, base_language
from voiceguide.speech.base import ENGINES, EngineUnavailable, RecognitionSettings, Recognizer

__all__ = ["choose_engine", "create_recognizer"]

_LOGGER = logging.getLogger(__name__)


def choose_engine(settings: RecognitionSettings) -> tuple[str, Path | None, str | None]:
    """(engine, vosk model or None, notice or None) for these settings, without loading anything."""
    from voiceguide.speech.models import ModelNotFound, find_model

    if settings.engine not in ENGINES:
        raise EngineUnavailable(f"unknown engine {settings.engine!r}: use {', '.join(ENGINES)}")
    if settings.engine in ("pocketsphinx", "keywords"):
        _check_sphinx_language(settings.language)
        return _builtin_english(settings) if settings.engine == "keywords" else "pocketsphinx", None, None
    try:
        model = find_model(settings.language, settings.model, settings.env)
    except ModelNotFound as exc:
        if settings.engine == "vosk" or settings.model is not None:
            raise EngineUnavailable(str(exc)) from exc
        _check_sphinx_language(settings.language, hint=str(exc))
        # The keyword model (engine 'keywords') is opt-in: on held-out people it hears fewer commands than
        # pocketsphinx with its verifier, though it acts on far less talk (BENCHMARKS.md, issue 12).
        notice = (
            f"No vosk model for {settings.language} is installed: using the built-in English recognizer "
            "(pocketsphinx). For better hearing run `voiceguide model fetch vosk-model-small-en-us-0.15`."
        )
        return "pocketsphinx", None, notice
    return "vosk", model, None


def _builtin_english(settings: RecognitionSettings) -> str:
    """The keyword model where it can run (onnxruntime and its file), else pocketsphinx (said once in the log)."""
    from importlib.util import find_spec

    from voiceguide.speech.keywords import BUILTIN_KEYWORDS

    if find_spec("onnxruntime") is None:
        _LOGGER.warning("onnxruntime is not installed: hearing English with pocketsphinx (less accurate)")
        return "pocketsphinx"
    if not Path(settings.keywords or BUILTIN_KEYWORDS).is_file():
        _LOGGER.warning("keyword model %s is missing: hearing English with pocketsphinx",
                        settings.keywords or BUILTIN_KEYWORDS)
        return "pocketsphinx"
    return "keywords"


def _check_sphinx_language(language: str, hint: str = "") -> None:
    if base_language(language) != "en":
        raise EngineUnavailable(
            f"the built-in recognizer (pocketsphinx) only knows English, not {language}"
            + (f"; {hint}" if hint else "; install a vosk model for it (see `voiceguide model list`)")
        )


def create_recognizer(
    settings: RecognitionSettings,
    vocabulary: Vocabulary,
    commands: Iterable[Command] | None = None,
) -> tuple[Recognizer, str | None]:
    """The recognizer for these settings and a one-line notice to show the user (None when there is none)."""
    engine, model, notice = choose_engine(settings)
    wanted = list(commands) if commands is not None else list(vocabulary.phrases)
    if engine == "vosk":
        from voiceguide.speech.vosk_engine import VoskRecognizer, load_vosk_model

        assert model is not None
        return VoskRecognizer(load_vosk_model(model), vocabulary, wanted, settings), notice
    if engine == "keywords":
        from voiceguide.speech.keyword_engine import KeywordRecognizer, keyword_model_covers

        if keyword_model_covers(vocabulary, settings):
            return KeywordRecognizer(vocabulary, wanted, settings), notice
        _LOGGER.warning("the keyword model does not know every phrase of this pack: hearing it with pocketsphinx")
    from voiceguide.speech.sphinx import SphinxRecognizer

    return SphinxRecognizer(vocabulary, wanted, settings), notice
