"""The session as others see it: commands in, narration/cue/state events out, through one small API."""

from __future__ import annotations

import logging

from voiceguide.core.commands import Command, Vocabulary
from voiceguide.core.events import CommandEvent, Say
from voiceguide.packs.schema import Pack
from voiceguide.packs.vocabulary import pack_vocabulary
from voiceguide.session.clock import Clock
from voiceguide.session.conductor import Conductor, Sink
from voiceguide.session.machine import State
from voiceguide.session.position import Position
from voiceguide.session.settings import SessionSettings
from voiceguide.store import Checkpoint, Store

__all__ = ["Session"]

_LOGGER = logging.getLogger(__name__)


class Session:
    """One run of a routine. Not thread-safe: call it only from the clock's thread (`clock.post`).

    Wiring for a live run: recognizer → `clock.post(lambda: session.handle(CommandEvent(...)))`;
    sink → the player (Say: speak at `rate_scale`; Cue: 'chime', 'tick' or a pack-relative WAV; Volume;
    Silence: cut at once; StateChanged: narrow the grammar to `expected_commands()`); the player, after
    each Say has played or been cut → `clock.post(lambda: session.narration_done(say))`; then
    `clock.post(session.start)` and `clock.run(until=lambda: session.over)`."""

    def __init__(self, pack: Pack, content_hash: str, clock: Clock, sink: Sink,
                 settings: SessionSettings | None = None, store: Store | None = None,
                 vocabulary: Vocabulary | None = None) -> None:
        self.pack = pack
        self.store = store
        self._conductor = Conductor(pack, content_hash, settings or SessionSettings(), clock, sink,
                                    vocabulary or pack_vocabulary(pack), store)
        self._clock = clock

    # ---- what the session is doing -------------------------------------------------------------
    @property
    def state(self) -> State:
        """The machine's state."""
        return self._conductor.state

    @property
    def position(self) -> Position:
        """Step, stroke group and repetitions done."""
        return self._conductor.pos

    @property
    def tempo(self) -> float:
        """The stroke-time multiplier now (speech rate is divided by it)."""
        return self._conductor.tempo

    @property
    def session_id(self) -> int | None:
        """The history row of this run, once begun."""
        return self._conductor.session_id

    @property
    def over(self) -> bool:
        """Finished or stopped."""
        return self.state in (State.FINISHED, State.STOPPED)

    def next_event(self) -> tuple[str, float] | None:
        """The engine's next timed trigger (beat or timeout) and the clock time it is due, if any."""
        return self._conductor.next_event()

    def expected_commands(self) -> set[Command]:
        """Commands that mean something right now (for narrowing the recognizer's grammar)."""
        return self._conductor.expected()

    # ---- inputs ---------------------------------------------------------------------------------
    def start(self, source: str = "auto") -> bool:
        """Begin (offering to resume a saved place of the same pack)."""
        return self.handle(CommandEvent(Command.START, self._clock.now(), source))

    def handle(self, event: CommandEvent) -> bool:
        """A command from the voice, the keyboard or a script; returns whether it did something."""
        c = self._conductor
        state = c.state
        if state is State.IDLE and event.command in (Command.START, Command.READY):
            c.checkpoint = self._find_checkpoint()
        acted = event.command.value in c.machine_triggers()
        if acted:
            c.trigger(event.command.value)
        else:
            _LOGGER.debug("'%s' means nothing in %s; ignored", event.command.value, state.value)
        if self.store is not None and c.session_id is not None:
            self.store.record_command(c.session_id, event.t, event.command.value, event.source, state.value, acted)
        return acted

    def narration_done(self, say: Say) -> bool:
        """The player finished (or cut) a sentence it was given."""
        return self._conductor.narrated(say)

    def _find_checkpoint(self) -> Checkpoint | None:
        if self.store is None:
            return None
        return self.store.checkpoint_for(self.pack.pack.id)
