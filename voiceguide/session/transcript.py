"""The transcript: one line per thing said, cued, commanded or changed, in the order a reader needs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from voiceguide.core.events import CommandEvent, Cue, Say, Silence, StateChanged, Volume
from voiceguide.packs.schema import Pack
from voiceguide.session.conductor import Output

__all__ = ["Entry", "TranscriptWriter", "command_entry", "format_time", "transcript_entry"]


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
