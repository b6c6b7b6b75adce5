"""The machine's model: what each transition does — positions, narration, beats, tempo, checkpoints."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from voiceguide.core.commands import Command, Vocabulary
from voiceguide.core.events import Cue, Say, Silence, StateChanged, Volume
from voiceguide.packs.schema import Pack, sentences
from voiceguide.session.clock import Clock, Timer
from voiceguide.session.conditions import Conditions
from voiceguide.session.machine import State, build_machine
from voiceguide.session.narration import Hints, group_script, step_script, stroke_text, where_text
from voiceguide.session.position import Position, back_target, next_group
from voiceguide.session.settings import SessionSettings
from voiceguide.store import Checkpoint, Store

__all__ = ["Conductor", "Output", "Sink"]

_LOGGER = logging.getLogger(__name__)

Output = Say | Cue | StateChanged | Volume | Silence
Sink = Callable[[Output], None]


@dataclass
class _Frozen:
    """What a pause or a stop question interrupted, to continue from exactly there."""

    trigger: str | None
    remaining: float
    resay: bool


class Conductor(Conditions):
    """Carries out the machine's transitions; the machine (`transitions`) decides which one runs.

    Triggers are attached to this object by `build_machine` (`self.trigger(name)`); `state` is set by it."""

    state: State
    trigger: Callable[..., bool]

    def __init__(self, pack: Pack, content_hash: str, settings: SessionSettings, clock: Clock, sink: Sink,
                 vocabulary: Vocabulary, store: Store | None = None) -> None:
        self.pack = pack
        self.content_hash = content_hash
        self.settings = settings
        self.clock = clock
        self.sink = sink
        self.vocabulary = vocabulary
        self.hints = Hints(vocabulary)
        self.store = store
        self.pos = Position(0)
        self.tempo = settings.tempo if settings.tempo is not None else pack.voice.tempo
        self.in_stroke = False
        self.session_id: int | None = None
        self.checkpoint: Checkpoint | None = None
        self.return_stack: list[State] = []
        self._script: list[str] = []
        self._line = 0
        self._awaiting: Say | None = None
        self._timer: Timer | None = None
        self._reminders = 0
        """Hold reminders said since the hold began."""
        self._timer_trigger: str | None = None
        self._frozen: list[_Frozen] = []
        self._confirm_timer: Timer | None = None
        self._announced: tuple[State, int, int] | None = None
        self._notice: list[str] = []
        self.machine = build_machine(self)

    # ---- output ---------------------------------------------------------------------------------
    def _emit(self, event: Output) -> None:
        self.sink(event)

    def _say(self, text: str, kind: str = "say", awaited: bool = False) -> Say:
        say = Say(text, self.clock.now(), kind=kind, rate_scale=round(1.0 / self.tempo, 4))
        if awaited:  # before emitting: a player may report it done from inside the sink
            self._awaiting = say
        self._emit(say)
        return say

    def _cue(self, sound: str) -> None:
        self._emit(Cue(sound, self.clock.now()))

    def announce_state(self) -> None:
        """On entering a state: tell the sink when the state or the step/group changed."""
        key = (self.state, self.pos.step, self.pos.group)
        if key != self._announced:
            self._announced = key
            detail: dict[str, object] = {**self.pos.as_dict(), "tempo": self.tempo}
            if self.pos.step < len(self.pack.steps):
                detail["step_id"] = self.pack.steps[self.pos.step].id
            self._emit(StateChanged(self.state.value, self.clock.now(), detail))

    # ---- engine triggers --------------------------------------------------------------------------
    def fire(self, trigger: str) -> bool:
        """Fire a trigger if the current state has a transition for it; else ignore it quietly."""
        if trigger not in self.machine_triggers():
            _LOGGER.debug("ignored %s in %s", trigger, self.state.value)
            return False
        return self.trigger(trigger)

    def machine_triggers(self) -> set[str]:
        """Trigger names the current state reacts to."""
        return set(self.machine.get_triggers(self.state))

    def expected(self) -> set[Command]:
        """Commands that do something (or get a helpful hint) in the current state."""
        names = self.machine_triggers()
        return {c for c in Command if c.value in names}

    def narrated(self, say: Say) -> bool:
        """The player finished (or cut) a sentence; only the one being waited for moves the script on."""
        if self._awaiting is None or say != self._awaiting:
            return False
        self._awaiting = None
        self._line += 1
        return self.fire("narration_done")

    def next_event(self) -> tuple[str, float] | None:
        """The pending beat or timeout and when it is due (None while frozen or idle)."""
        if self._timer is None or self._timer_trigger is None:
            return None
        return self._timer_trigger, self._timer.when

    def _schedule(self, delay: float, trigger: str) -> None:
        self._cancel_timer()
        self._timer_trigger = trigger
        self._timer = self.clock.call_later(delay, partial(self._timer_fired, trigger))

    def _timer_fired(self, trigger: str) -> None:
        self._timer = None
        self._timer_trigger = None
        self.fire(trigger)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._timer_trigger = None

    def _stop_speaking(self) -> None:
        """Drop the sentence being waited for and tell the player to go quiet."""
        if self._awaiting is not None:
            self._awaiting = None
            self._emit(Silence(self.clock.now()))

    def leave(self) -> None:
        """Leaving the current part for another: no pending beat, no sentence left half said."""
        self._cancel_timer()
        self._stop_speaking()

    # ---- positions and checkpoints ------------------------------------------------------------------
    def _set_pos(self, pos: Position) -> None:
        """Move, and write the move to the checkpoint in the same breath."""
        self.pos = pos
        if self.store is not None and self.session_id is not None:
            step_id = self.pack.steps[pos.step].id if pos.step < len(self.pack.steps) else None
            self.store.save_position(self.session_id, pos.step, step_id, pos.group, pos.done, self.tempo)

    def _step_start(self, pos: Position, intro: list[str] | None = None) -> None:
        """Arrive at the start of a step (or one of its groups): chime on a new step, set the script."""
        self.leave()
        if pos.group == 0:
            self._cue("chime")
        script = list(intro or [])
        if pos.group == 0:
            script += step_script(self.pack, pos.step)
        script += group_script(self.pack, pos)
        self._script, self._line = script, 0
        self.in_stroke = False
        self._set_pos(pos)

    # ---- starting -----------------------------------------------------------------------------------
    def make_offer(self) -> None:
        """Say where the saved place is, and how to continue or begin again."""
        self._say(self.hints.offer(self.pack, self._checkpoint_target().step), kind="hint")

    def _begin(self, resumed_from: int | None) -> None:
        if self.store is not None:
            if self.settings.remember_tempo and self.settings.tempo is None:
                self.tempo = self.store.tempo_for(self.pack.pack.id) or self.tempo
            self.session_id = self.store.begin(self.pack.pack.id, self.content_hash, self.pack.pack.title,
                                               self.tempo, resumed_from=resumed_from)

    def begin_fresh(self) -> None:
        """Start at the beginning; a saved place that is not taken up is let go."""
        self._notice = []
        if self._checkpoint_lost():
            self._notice = ["The routine has changed since last time, and the step you stopped at is gone, "
                            "so we begin again."]
        if self.checkpoint is not None and self.store is not None:
            self.store.discard(self.checkpoint.session_id)
        self.checkpoint = None
        self._begin(None)
        self._set_pos(Position(0))

    def begin_from_checkpoint(self) -> None:
        """Continue at the saved place (the nearest step with the same id if the pack changed)."""
        cp = self.checkpoint
        assert cp is not None
        target = self._checkpoint_target()
        notice: list[str] = []
        if cp.pack_hash != self.content_hash:
            notice.append("The routine has changed since last time, so we continue at the start of that step.")
        if self.store is not None:
            self.store.discard(cp.session_id)
        self._begin(cp.session_id)
        self.checkpoint = None
        if target.step >= len(self.pack.steps):
            self._set_pos(target)
            self._script, self._line = notice + sentences(self.pack.closing.say if self.pack.closing else None), 0
            return
        step = self.pack.steps[target.step]
        intro = notice + [f"Welcome back. Step {target.step + 1}, {step.title}."]
        self._step_start(target, intro)

    def start_intro(self) -> None:
        """Say the intro and the safety notes."""
        said = [*self._notice, *sentences(self.pack.intro.say if self.pack.intro else None),
                *sentences(self.pack.safety.say if self.pack.safety else None)]
        self._script, self._line, self._notice = said, 0, []
        self.start_script()

    # ---- narration ----------------------------------------------------------------------------------
    def start_script(self) -> None:
        """Begin the current script, or move on at once when there is nothing to say."""
        if self._line < len(self._script):
            self.say_next()
        else:
            self.trigger("narration_done")

    def say_next(self) -> None:
        """Say the current sentence and wait for the player to finish it."""
        self._say(self._script[self._line], awaited=True)

    # ---- moves ------------------------------------------------------------------------------------
    def goto_first_step(self) -> None:
        """From the intro to step 1."""
        self._step_start(Position(0))

    def goto_next_step(self) -> None:
        """To the start of the next step."""
        self._step_start(Position(self.pos.step + 1))

    def goto_next_group(self) -> None:
        """To the next stroke group of this step."""
        nxt = next_group(self.pack, self.pos)
        assert nxt is not None
        self._step_start(nxt)

    def goto_rest(self) -> None:
        """The step's strokes are done; quiet seconds follow."""
        self.leave()
        self._set_pos(Position(self.pos.step, len(self.pack.steps[self.pos.step].strokes)))

    def goto_closing(self) -> None:
        """Every step is done."""
        self.leave()
        self._cue("chime")
        self._script, self._line = sentences(self.pack.closing.say if self.pack.closing else None), 0
        self._set_pos(Position(len(self.pack.steps)))

    def go_back(self) -> None:
        """To the start of this group, the previous group, or the previous step."""
        target = back_target(self.pack, self.pos)
        assert target is not None
        self._step_start(target)

    def repeat_step(self) -> None:
        """Say the instruction again and restart the count of the current group."""
        groups = self.pack.steps[self.pos.step].strokes
        group = self.pos.group if self.pos.group < len(groups) else 0
        self.leave()
        self._script = step_script(self.pack, self.pos.step) + group_script(
            self.pack, Position(self.pos.step, group))
        self._line = 0
        self.in_stroke = False
        self._set_pos(Position(self.pos.step, group, 0))

    def repeat_closing(self) -> None:
        """Say the closing again."""
        self.leave()
        self._script, self._line = sentences(self.pack.closing.say if self.pack.closing else None), 0

    def hint_at_start(self) -> None:
        """'back' with nothing before."""
        self._say(self.hints.first_step if self.state is not State.INTRO else self.hints.beginning,
                  kind="hint")

    # ---- strokes, holds, rests ----------------------------------------------------------------------
    def start_strokes(self) -> None:
        """Count from where the position says (0, or the saved repetition when resuming)."""
        self.in_stroke = False
        self._schedule(self.settings.start_delay, "beat")

    def count_stroke(self) -> None:
        """A beat: the repetition in progress is done, the next one starts now."""
        group = self.pack.steps[self.pos.step].strokes[self.pos.group]
        if self.in_stroke:
            self._set_pos(Position(self.pos.step, self.pos.group, self.pos.done + 1))
        self.in_stroke = True
        number = self.pos.done + 1
        said = stroke_text(self.pack, self.pos, group, number)
        if said is None:
            self._cue(group.sound or "tick")
        else:
            self._say(said[1], kind=said[0])
        self._schedule(group.seconds * self.tempo, "beat")

    def start_hold(self) -> None:
        """Wait for the person (telling them how to go on); in simulations a hold is released after a while."""
        self._say(self.hints.hold, kind="hint")
        self._reminders = 0
        release = self.settings.hold_timeout
        if release is None and self.settings.release_holds:
            release = self.pack.steps[self.pos.step].hold_seconds
        if release is not None:
            self._schedule(release, "timeout")
        elif self.settings.hold_reminder is not None and self.settings.hold_reminders > 0:
            self._schedule(self.settings.hold_reminder, "remind")

    def remind_hold(self) -> None:
        """A hold that has been quiet for long: the person may have missed how to go on, or been misheard."""
        self._reminders += 1
        self._say(self.hints.remind, kind="hint")
        if self._reminders < self.settings.hold_reminders and self.settings.hold_reminder is not None:
            self._schedule(self.settings.hold_reminder, "remind")

    def start_rest(self) -> None:
        """Quiet seconds after a step."""
        self._schedule(self.pack.steps[self.pos.step].rest, "timeout")

    # ---- pause, stop ----------------------------------------------------------------------------------
    def freeze(self) -> None:
        """Stop the clock work and the voice where they are; remember both."""
        self.return_stack.append(self.state)
        if self.state is State.PAUSED:
            return
        remaining = 0.0
        if self._timer is not None:
            remaining = max(0.0, self._timer.when - self.clock.now())
        frozen = _Frozen(self._timer_trigger, remaining, self._awaiting is not None)
        self._cancel_timer()
        self._awaiting = None
        self._emit(Silence(self.clock.now()))
        self._frozen.append(frozen)

    def say_paused(self) -> None:
        """Tell the person how to go on."""
        self._say(self.hints.paused, kind="hint")

    def thaw(self) -> None:
        """Continue exactly where the pause or the stop question interrupted."""
        self.return_stack.pop()
        if self._confirm_timer is not None:
            self._confirm_timer.cancel()
            self._confirm_timer = None
        if self.state is State.PAUSED:
            self.say_paused()
            return
        frozen = self._frozen.pop()
        if frozen.resay and self._line < len(self._script):
            self.say_next()
        if frozen.trigger is not None:
            self._schedule(frozen.remaining, frozen.trigger)

    def say_confirm(self) -> None:
        """The stop question."""
        self._say(self.hints.confirm, kind="hint")

    def ask_confirm(self) -> None:
        """Ask before ending; no answer means carry on."""
        self.say_confirm()
        self._confirm_timer = self.clock.call_later(self.settings.confirm_timeout, self._confirm_timed_out)

    def _confirm_timed_out(self) -> None:
        self._confirm_timer = None
        self.fire("timeout")

    def end_stopped(self) -> None:
        """A confirmed stop: the place stays saved for next time."""
        self.return_stack.clear()
        self._frozen.clear()
        if self._confirm_timer is not None:
            self._confirm_timer.cancel()
            self._confirm_timer = None
        if self.store is not None and self.session_id is not None:
            self.store.end(self.session_id, completed=False)
        self._say(self.hints.stopped, kind="hint")

    def finish(self) -> None:
        """The routine is complete."""
        self.leave()
        if self.store is not None and self.session_id is not None:
            self.store.end(self.session_id, completed=True)

    # ---- tempo, volume, questions ----------------------------------------------------------------------
    def _change_tempo(self, factor: float) -> None:
        s = self.settings
        new = round(min(s.tempo_max, max(s.tempo_min, self.tempo * factor)), 4)
        slower = factor > 1
        if abs(new - self.tempo) < 1e-9:
            self._say(self.hints.slowest if slower else self.hints.fastest, kind="hint")
            return
        self.tempo = new
        if self.store is not None:
            if s.remember_tempo:
                self.store.save_tempo(self.pack.pack.id, new)
            if self.session_id is not None:
                self._set_pos(self.pos)
        self._say(self.hints.slower if slower else self.hints.faster, kind="hint")

    def go_slower(self) -> None:
        """Tempo × 1.25: longer beats, slower speech."""
        self._change_tempo(self.settings.slower_factor)

    def go_faster(self) -> None:
        """Tempo × 0.8: shorter beats, faster speech."""
        self._change_tempo(1.0 / self.settings.slower_factor)

    def volume_up(self) -> None:
        """Ask the player to play louder."""
        self._emit(Volume(+1, self.clock.now()))

    def volume_down(self) -> None:
        """Ask the player to play quieter."""
        self._emit(Volume(-1, self.clock.now()))

    def say_help(self) -> None:
        """List what can be said right now."""
        names = [self.hints.phrase(c) for c in Command if c in self.expected()]
        self._say("You can say: " + ", ".join(names) + ".", kind="hint")

    def say_where(self) -> None:
        """Step, repetition, and time left."""
        stroke = self.pos.done + 1 if self.in_stroke else 0
        self._say(where_text(self.pack, self.pos, self.tempo, stroke), kind="hint")
