"""The echo guard: drop commands the assistant heard from its own speaker.

The Player announces what it plays (text and time span, on the recognizer's stream timeline). A heard
command whose phrase occurs in what was playing at that moment (plus a short tail for room echo and the
endpointer's delay) is dropped; a command that is not in the narration ("stop" over "glide your fingers
upward") passes, so the person can always interrupt. Over the speaker, a command also needs its own words
heard (the English fallback's verifier may name a command its decoder heard as other words; alone, that is
not enough while the assistant talks).
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

from voiceguide.events import Heard
from voiceguide.speech.commands import Vocabulary, normalize, tokens

__all__ = ["EchoGuard", "EchoSettings", "Playing"]

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class EchoSettings:
    """How long after the speaker falls silent its words may still come back."""

    tail: float = 0.6
    """Seconds after a sound ends during which its words are still suspect."""
    lead: float = 0.1
    """Seconds before a sound's announced start (the announcement may be a little late)."""
    keep: int = 64
    """How many recent sounds to remember."""


@dataclass(frozen=True)
class Playing:
    """One sound the Player put out: what it says and when, in stream seconds."""

    text: str
    start: float
    end: float


class EchoGuard:
    """Lets through only commands that cannot be the speaker's own words."""

    def __init__(self, vocabulary: Vocabulary, settings: EchoSettings | None = None) -> None:
        self._vocabulary = vocabulary
        self._settings = settings or EchoSettings()
        self._playing: deque[Playing] = deque(maxlen=self._settings.keep)
        self.dropped: list[Heard] = []

    def playing(self, text: str, start: float, end: float) -> None:
        """The Player's notice: `text` sounds from `start` to `end` (stream seconds)."""
        if text.strip():
            self._playing.append(Playing(normalize(text), start, end))

    def admit(self, heard: Heard) -> bool:
        """False when the heard command is in what the speaker was saying at that moment."""
        if heard.command is None:
            return True
        s = self._settings
        phrase = tokens(heard.text)
        own = [p.split() for p, c in self._vocabulary.all_phrases().items() if c == heard.command]
        for sound in self._playing:
            if sound.start - s.lead <= heard.end and heard.start <= sound.end + s.tail:
                if phrase not in own:
                    # Only the fallback's verifier heard this command (the decoder heard other words): over our
                    # own voice, that is not enough.
                    _LOGGER.info("dropped %s at %.2f s: heard as %r while the speaker was talking", heard.command,
                                 heard.end, heard.text)
                    self.dropped.append(heard)
                    return False
                words = sound.text.split()
                for candidate in own:  # the heard phrase is one of them (checked above)
                    n = len(candidate)
                    if n and any(words[i : i + n] == candidate for i in range(len(words) - n + 1)):
                        _LOGGER.info("dropped %r at %.2f s: the speaker was saying %r", heard.text, heard.end, sound.text)
                        self.dropped.append(heard)
                        return False
        return True

    def filter(self, heard: list[Heard]) -> list[Heard]:
        """The admitted ones, in order."""
        return [h for h in heard if self.admit(h)]
