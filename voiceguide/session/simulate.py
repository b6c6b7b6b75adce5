"""`voiceguide simulate`: a session under a virtual clock, with commands at given seconds, as a transcript."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial

from voiceguide.core.commands import Command, Vocabulary
from voiceguide.core.events import CommandEvent
from voiceguide.packs.schema import Pack
from voiceguide.packs.vocabulary import pack_vocabulary
from voiceguide.session.clock import VirtualClock
from voiceguide.session.conductor import Output
from voiceguide.session.session import Session
from voiceguide.session.settings import SessionSettings
from voiceguide.session.standin import EstimatedSpeech
from voiceguide.session.transcript import Entry, command_entry, transcript_entry
from voiceguide.store import Store

__all__ = ["ScriptError", "ScriptedCommand", "Simulation", "parse_commands"]

_ITEM = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*s?\s+(.+?)\s*$")


class ScriptError(ValueError):
    """A `--commands` script that cannot be read."""


@dataclass(frozen=True)
class ScriptedCommand:
    """A command injected at a virtual time."""

    t: float
    command: Command
    said: str


def parse_commands(script: str, vocabulary: Vocabulary) -> list[ScriptedCommand]:
    """'12 next; 40 slower; 60 where am i' → commands, sorted by time; a phrase or a command name works."""
    out: list[ScriptedCommand] = []
    for n, item in enumerate(script.split(";"), start=1):
        if not item.strip():
            continue
        m = _ITEM.match(item)
        if m is None:
            raise ScriptError(f"command {n} ({item.strip()!r}): write SECONDS COMMAND, e.g. '12 next'")
        words = m.group(2)
        command = vocabulary.match(words)
        if command is None:
            try:
                command = Command(words.strip().lower())
            except ValueError:
                known = ", ".join(c.value for c in Command)
                raise ScriptError(f"command {n} ({item.strip()!r}): unknown command {words!r} "
                                  f"(known: {known})") from None
        out.append(ScriptedCommand(float(m.group(1)), command, words))
    return sorted(out, key=lambda c: c.t)


class Simulation:
    """A session, a virtual clock, and a stand-in player that takes as long as speech would."""

    def __init__(self, pack: Pack, content_hash: str = "", settings: SessionSettings | None = None,
                 store: Store | None = None, clock: VirtualClock | None = None) -> None:
        self.pack = pack
        self.clock = clock or VirtualClock()
        self.entries: list[Entry] = []
        self.vocabulary = pack_vocabulary(pack)
        self.session = Session(pack, content_hash, self.clock, self._sink, settings, store, self.vocabulary)
        self._speech = EstimatedSpeech(self.clock, pack.voice.rate, self.session.narration_done)

    # ---- the transcript ---------------------------------------------------------------------------
    def _sink(self, event: Output) -> None:
        entry = transcript_entry(event, self.pack)
        if entry is not None:
            self.entries.append(entry)
        self._speech(event)

    # ---- driving ---------------------------------------------------------------------------------
    def command(self, command: Command, source: str = "script") -> bool:
        """Inject a command now."""
        event = CommandEvent(command, self.clock.now(), source)
        at = len(self.entries)
        acted = self.session.handle(event)
        self.entries.insert(at, command_entry(event, acted))
        return acted

    def run(self, commands: Iterable[ScriptedCommand] = (), limit: float = 6 * 3600.0,
            start: bool = True) -> list[Entry]:
        """Start, inject the commands at their times, and run until the session is over or nothing is left."""
        for item in commands:
            self.clock.call_at(item.t, partial(self._scripted, item.command))
        if start:
            self.clock.post(self.session.start)
        self.clock.run(until=lambda: self.session.over, limit=limit)
        return self.entries

    def _scripted(self, command: Command) -> None:
        if not self.session.over:
            self.command(command)
