"""A session in real time with typed commands and printed speech: for keyboards, terminals and crash tests."""

from __future__ import annotations

import logging
from collections.abc import Callable

from voiceguide.events import CommandEvent
from voiceguide.packs.schema import Pack
from voiceguide.session.clock import RealClock
from voiceguide.session.conductor import Output
from voiceguide.packs.lint import pack_vocabulary
from voiceguide.session.session import Session
from voiceguide.session.settings import SessionSettings
from voiceguide.session.simulate import Entry, TranscriptWriter, transcript_entry
from voiceguide.session.standin import EstimatedSpeech
from voiceguide.speech.commands import Command, Vocabulary
from voiceguide.store import Store

__all__ = ["TextRun", "typed_command"]

_LOGGER = logging.getLogger(__name__)


def typed_command(vocabulary: Vocabulary, line: str) -> Command | None:
    """A typed line as a command: any phrase of the vocabulary, or a command's English name."""
    text = line.strip()
    if not text:
        return None
    command = vocabulary.match(text)
    if command is not None:
        return command
    try:
        return Command(text.lower())
    except ValueError:
        return None


class TextRun:
    """Runs a session on a real clock; lines typed are commands, what would be heard is written out."""

    def __init__(self, pack: Pack, content_hash: str, settings: SessionSettings, store: Store | None,
                 write: Callable[[Entry], None], clock: RealClock | None = None) -> None:
        self.pack = pack
        self.clock = clock or RealClock()
        self.vocabulary = pack_vocabulary(pack)
        self._write = TranscriptWriter(write)
        self.session = Session(pack, content_hash, self.clock, self._sink, settings, store, self.vocabulary)
        self._speech = EstimatedSpeech(self.clock, pack.voice.rate, self.session.narration_done)

    def _sink(self, event: Output) -> None:
        entry = transcript_entry(event, self.pack)
        if entry is not None:
            self._write(entry)
        self._speech(event)

    def feed(self, line: str, source: str = "keyboard") -> Command | None:
        """A typed line (any thread): a command phrase or name is handed to the clock's thread."""
        command = typed_command(self.vocabulary, line)
        if command is None:
            if line.strip():
                _LOGGER.warning("not a command: %r", line.strip())
            return None
        self.clock.post(lambda: self._handle(command, source))
        return command

    def _handle(self, command: Command, source: str) -> None:
        if self.session.over:
            return
        self._write.command(CommandEvent(command, self.clock.now(), source), self.session.handle)

    def run(self) -> None:
        """Start and run until the session is over or `stop()`."""
        self.clock.post(self.session.start)
        self.clock.run(until=lambda: self.session.over)

    def stop(self) -> None:
        """End `run` from any thread."""
        self.clock.stop()
