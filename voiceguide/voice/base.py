"""The `Voice` protocol every speech engine honours, its errors, and picking a voice by name or language."""

from __future__ import annotations

import difflib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

__all__ = ["Voice", "VoiceError", "VoiceInfo", "normalize_text", "pick_voice"]

_LOGGER = logging.getLogger(__name__)


class VoiceError(Exception):
    """The speech engine cannot do what was asked (missing, hung twice, unknown voice)."""


@dataclass(frozen=True)
class VoiceInfo:
    """One voice an engine offers."""

    engine: str
    id: str
    """What to pass as `voice` (e.g. 'gmw/en-us' for espeak-ng)."""
    name: str
    languages: tuple[str, ...] = ()
    gender: str | None = None
    default: bool = False
    """The engine's own default voice."""


@runtime_checkable
class Voice(Protocol):
    """A speech engine that renders one sentence to a WAV file (mono, 16-bit, any rate)."""

    engine: str

    def voices(self) -> list[VoiceInfo]:
        """Voices this engine offers."""
        ...

    def render(self, text: str, path: Path, *, voice: str | None, rate: int) -> None:
        """Write `text` at `rate` words per minute to `path`; `voice` None means the engine default."""
        ...

    def close(self) -> None:
        """Release the engine (processes, models)."""
        ...


def _lang_key(tag: str) -> str:
    return tag.strip().lower().replace("_", "-")


def pick_voice(voices: list[VoiceInfo], name: str | None, language: str | None = None) -> VoiceInfo | None:
    """The voice a name or a language asks for; None means "the engine's default".

    A name may be an id ('gmw/en-us'), the last part of one ('en-us'), or a display name
    ('English (America)'), in any case. Without a name, the best voice for a BCP-47 language.
    """
    if name:
        wanted = name.strip().lower()
        for test in (
            lambda v: v.id == name,
            lambda v: v.id.lower() == wanted,
            lambda v: v.name.lower() == wanted,
            lambda v: v.id.lower().rsplit("/", 1)[-1] == wanted,
            lambda v: wanted in (_lang_key(x) for x in v.languages),
        ):
            found = [v for v in voices if test(v)]
            if found:
                return found[0]
        names = sorted({v.id for v in voices} | {v.name for v in voices})
        close = difflib.get_close_matches(name, names, n=5, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else "; `voiceguide voices` lists them"
        raise VoiceError(f"no voice named {name!r}{hint}")
    if language:
        tag = _lang_key(language)
        primary = tag.split("-", 1)[0]
        for test in (
            lambda langs: tag in langs,
            lambda langs: primary in langs,
            lambda langs: any(x.startswith(primary + "-") for x in langs),
        ):
            found = [v for v in voices if test([_lang_key(x) for x in v.languages])]
            if found:
                return found[0]
        _LOGGER.warning("no voice for language %s; using the engine's default voice", language)
    return None


_SPACES = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """The text as rendered and keyed: surrounding and repeated whitespace do not matter."""
    return _SPACES.sub(" ", text).strip()
