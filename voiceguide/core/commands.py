"""The command vocabulary: every command and the phrases that say it, per language, in one place."""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = [
    "Command",
    "Vocabulary",
    "BUILTIN_PHRASES",
    "builtin_vocabulary",
    "normalize",
    "tokens",
]


class Command(enum.StrEnum):
    """What a person can ask for; values are the canonical English names used in CLI and logs."""

    START = "start"
    NEXT = "next"
    BACK = "back"
    REPEAT = "repeat"
    SLOWER = "slower"
    FASTER = "faster"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"
    YES = "yes"
    NO = "no"
    WHERE = "where"
    HELP = "help"
    LOUDER = "louder"
    QUIETER = "quieter"
    READY = "ready"


# Base language (ISO 639-1) → command → phrases, lower case, words separated by single spaces.
BUILTIN_PHRASES: Mapping[str, Mapping[Command, tuple[str, ...]]] = {
    "en": {
        Command.START: ("start", "begin"),
        Command.NEXT: ("next", "next step"),
        Command.BACK: ("back", "previous", "go back"),
        Command.REPEAT: ("repeat", "again", "say again"),
        Command.SLOWER: ("slower", "slow down"),
        Command.FASTER: ("faster", "speed up"),
        Command.PAUSE: ("pause", "wait", "hold on"),
        Command.RESUME: ("resume", "go", "continue"),
        Command.STOP: ("stop", "end session"),
        Command.YES: ("yes",),
        Command.NO: ("no",),
        Command.WHERE: ("where am i", "how long"),
        Command.HELP: ("help", "what can i say"),
        Command.LOUDER: ("louder",),
        Command.QUIETER: ("quieter",),
        Command.READY: ("ready",),
    },
    "ko": {
        Command.START: ("시작",),
        Command.NEXT: ("다음", "다음 단계"),
        Command.BACK: ("이전", "뒤로"),
        Command.REPEAT: ("반복", "다시"),
        Command.SLOWER: ("천천히",),
        Command.FASTER: ("빠르게",),
        Command.PAUSE: ("멈춰",),
        Command.RESUME: ("계속",),
        Command.STOP: ("정지", "그만"),
        Command.YES: ("네",),
        Command.NO: ("아니요",),
        Command.WHERE: ("어디",),
        Command.HELP: ("도움말",),
        Command.LOUDER: ("크게",),
        Command.QUIETER: ("작게",),
        Command.READY: ("준비",),
    },
}

_PUNCT = re.compile(r"[^\w\s']+", re.UNICODE)


def normalize(text: str) -> str:
    """Fold text to the form phrases are stored in, so matching ignores case, punctuation and spacing."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _PUNCT.sub(" ", text)
    return " ".join(text.split())


def tokens(text: str) -> list[str]:
    """The words of a text after normalization."""
    return normalize(text).split()


def base_language(language: str) -> str:
    """`en-US` → `en`: the vocabulary is kept per base language."""
    return language.split("-")[0].split("_")[0].lower()


@dataclass(frozen=True)
class Vocabulary:
    """The phrases of one language, mapped to commands; the only place text becomes a Command."""

    language: str
    phrases: Mapping[Command, tuple[str, ...]] = field(default_factory=dict)

    def with_changes(
        self,
        add: Mapping[Command, Iterable[str]] | None = None,
        replace: Mapping[Command, Iterable[str]] | None = None,
    ) -> Vocabulary:
        """A copy with a pack's additions and replacements applied."""
        merged: dict[Command, tuple[str, ...]] = dict(self.phrases)
        for cmd, new in (replace or {}).items():
            merged[cmd] = tuple(dict.fromkeys(normalize(p) for p in new))
        for cmd, new in (add or {}).items():
            merged[cmd] = tuple(dict.fromkeys((*merged.get(cmd, ()), *(normalize(p) for p in new))))
        return Vocabulary(self.language, merged)

    def all_phrases(self, commands: Iterable[Command] | None = None) -> dict[str, Command]:
        """Phrase → command, for the given commands (all when None)."""
        wanted = set(commands) if commands is not None else set(self.phrases)
        return {p: cmd for cmd, ps in self.phrases.items() if cmd in wanted for p in ps}

    def match(self, text: str, commands: Iterable[Command] | None = None) -> Command | None:
        """The command a whole utterance says, or None when it is not exactly a command phrase."""
        return self.all_phrases(commands).get(normalize(text))

    def words(self) -> set[str]:
        """Every single word that occurs in some phrase."""
        return {w for ps in self.phrases.values() for p in ps for w in p.split()}

    def find_in(self, text: str) -> list[tuple[str, Command]]:
        """Command phrases that occur as whole words inside a longer text (for the linter and echo guard)."""
        words = tokens(text)
        found: list[tuple[str, Command]] = []
        for phrase, cmd in self.all_phrases().items():
            pw = phrase.split()
            n = len(pw)
            if any(words[i : i + n] == pw for i in range(len(words) - n + 1)):
                found.append((phrase, cmd))
        return found


def builtin_vocabulary(language: str) -> Vocabulary:
    """The built-in vocabulary for a BCP-47 language tag; English when the language has none."""
    base = base_language(language)
    phrases = BUILTIN_PHRASES.get(base)
    if phrases is None:
        return Vocabulary("en", BUILTIN_PHRASES["en"])
    return Vocabulary(base, phrases)


def has_builtin_vocabulary(language: str) -> bool:
    """Whether voiceguide ships command phrases for this language."""
    return base_language(language) in BUILTIN_PHRASES
