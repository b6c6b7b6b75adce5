"""`voiceguide simulate`: a session under a virtual clock, with commands at given seconds, as a transcript."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from voiceguide.events import CommandEvent, Cue, Say, Silence, StateChanged, Volume
from voiceguide.packs.schema import Pack
from voiceguide.session.clock import VirtualClock
from voiceguide.session.conductor import Output
from voiceguide.packs.lint import pack_vocabulary
from voiceguide.session.session import Session
from voiceguide.session.settings import SessionSettings
from voiceguide.session.standin import EstimatedSpeech
from voiceguide.speech.commands import Command, Vocabulary
from voiceguide.store import Store

__all__ = ["ScriptError", "ScriptedCommand", "Entry", "Simulation", "TranscriptWriter", "parse_commands",
           "format_time", "transcript_entry", "command_entry"]

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


def format_time(t: float) -> str:
    """Seconds as m:ss.s."""
    minutes, seconds = divmod(t, 60.0)
    return f"{int(minutes):3d}:{seconds:04.1f}"


@dataclass(frozen=True)
class Entry:
    """One line of the transcript."""

    t: float
    type: str
    text: str
    data: dict[str, object] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """The `--json` object."""
        return {"t": round(self.t, 3), "type": self.type, "text": self.text, **self.data}

    def as_line(self) -> str:
        """The plain transcript line."""
        kind = str(self.data.get("kind", self.type)) if self.type == "say" else self.type
        return f"{format_time(self.t)}  {kind:<8} {self.text}"


def command_entry(event: CommandEvent, acted: bool) -> Entry:
    """The transcript line of a command (ignored ones are marked)."""
    text = event.command.value if acted else f"{event.command.value} (ignored)"
    return Entry(event.t, "command", text, {"command": event.command.value, "acted": acted,
                                            "source": event.source})


class TranscriptWriter:
    """Writes transcript lines so that a command comes before what it caused (read top to bottom).

    Only lines from the thread handling the command are held back: other threads (a device report, the
    keyboard) write straight through, since the command did not cause them.
    """

    def __init__(self, write: Callable[[Entry], None]) -> None:
        self._write = write
        self._held: list[Entry] = []
        self._holder: int | None = None

    def __call__(self, entry: Entry) -> None:
        if self._holder == threading.get_ident():
            self._held.append(entry)
        else:
            self._write(entry)

    def command(self, event: CommandEvent, handle: Callable[[CommandEvent], bool]) -> bool:
        """Handle a command, holding back what it causes until the command's own line is written."""
        self._held, self._holder = [], threading.get_ident()
        try:
            acted = handle(event)
        finally:
            self._holder = None
        self._write(command_entry(event, acted))
        for entry in self._held:
            self._write(entry)
        return acted


def transcript_entry(event: Output, pack: Pack) -> Entry | None:
    """The transcript line of an output event."""
    if isinstance(event, Say):
        return Entry(event.t, "say", event.text, {"kind": event.kind, "rate_scale": event.rate_scale})
    if isinstance(event, Cue):
        return Entry(event.t, "cue", f"[{event.sound}]", {"sound": event.sound})
    if isinstance(event, StateChanged):
        return Entry(event.t, "state", _state_text(event, pack), {"state": event.state, **event.detail})
    if isinstance(event, Silence):
        return Entry(event.t, "silence", "(speech cut)")
    if isinstance(event, Volume):
        return Entry(event.t, "volume", "louder" if event.change > 0 else "quieter", {"change": event.change})
    return None


def _state_text(event: StateChanged, pack: Pack) -> str:
    step = event.detail.get("step")
    if event.state in ("narrating", "strokes", "hold", "rest") and isinstance(step, int) and step < len(pack.steps):
        title = pack.steps[step].title
        group = int(str(event.detail.get("group", 0)))
        several = len(pack.steps[step].strokes) > 1 and event.state != "rest"
        part = f", part {group + 1}" if several else ""
        return f"{event.state} (step {step + 1}, {title}{part})"
    return event.state


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
            self.clock.call_at(item.t, lambda c=item.command: self._scripted(c))
        if start:
            self.clock.post(self.session.start)
        self.clock.run(until=lambda: self.session.over, limit=limit)
        return self.entries

    def _scripted(self, command: Command) -> None:
        if not self.session.over:
            self.command(command)
