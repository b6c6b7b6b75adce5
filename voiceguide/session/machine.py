"""The session's states and its transitions table: the routine's rules, as data `transitions` runs."""

from __future__ import annotations

import enum
from typing import Any

from transitions import Machine

from voiceguide.core.commands import Command

__all__ = [
    "State",
    "ACTIVE",
    "RESUMABLE",
    "ENGINE_TRIGGERS",
    "ENTRY_ACTIONS",
    "transitions_table",
    "build_machine",
]


class State(enum.Enum):
    """Where the session is; values are the names used in transcripts and JSON."""

    IDLE = "idle"
    OFFER = "offer"
    """A saved place exists: 'resume' continues there, 'start' begins again."""
    INTRO = "intro"
    NARRATING = "narrating"
    """Saying a step's (or a stroke group's) instruction."""
    STROKES = "strokes"
    """Counting repetitions on beats."""
    HOLD = "hold"
    """Waiting for 'next' or 'ready'."""
    REST = "rest"
    CLOSING = "closing"
    PAUSED = "paused"
    CONFIRM_STOP = "confirm_stop"
    FINISHED = "finished"
    STOPPED = "stopped"


ACTIVE = (State.INTRO, State.NARRATING, State.STROKES, State.HOLD, State.REST, State.CLOSING)
"""States in which the routine is moving."""
IN_STEP = (State.NARRATING, State.STROKES, State.HOLD, State.REST)
RESUMABLE = (*ACTIVE, State.PAUSED)
"""States that 'pause' or 'stop' can return to."""
LIVE = (State.IDLE, State.OFFER, *ACTIVE, State.PAUSED, State.CONFIRM_STOP)
"""Every state but the final ones."""

ENGINE_TRIGGERS = ("narration_done", "beat", "timeout", "remind")
"""Triggers the session fires itself: speech finished, a stroke beat, a rest/hold/confirm timer, a hold reminder."""

ENTRY_ACTIONS: dict[State, str] = {
    State.OFFER: "make_offer",
    State.INTRO: "start_intro",
    State.NARRATING: "start_script",
    State.STROKES: "start_strokes",
    State.HOLD: "start_hold",
    State.REST: "start_rest",
    State.CLOSING: "start_script",
    State.CONFIRM_STOP: "ask_confirm",
    State.FINISHED: "finish",
    State.STOPPED: "end_stopped",
}
"""What runs on arriving in a state by a move (not when returning from pause or a stop question)."""

Row = dict[str, Any]


def _row(trigger: str | Command, source: State | tuple[State, ...], dest: State | None, *,
         when: str | list[str] | None = None, before: str | None = None, after: str | None = None,
         returning: bool = False) -> Row:
    """One transition; arriving in `dest` by a move runs that state's entry action after `after`."""
    afters = [after] if after else []
    if dest is not None and not returning and dest in ENTRY_ACTIONS:
        afters.append(ENTRY_ACTIONS[dest])
    row: Row = {"trigger": str(trigger), "source": list(source) if isinstance(source, tuple) else source,
                "dest": dest}
    if when:
        row["conditions"] = when
    if before:
        row["before"] = before
    if afters:
        row["after"] = afters
    return row


def _finish_step(trigger: str | Command, source: State | tuple[State, ...], rest: bool = True) -> list[Row]:
    """The step is done: rest if the step has one, then the next step, or the closing."""
    rows = [_row(trigger, source, State.REST, when="has_rest", before="goto_rest")] if rest else []
    return rows + [
        _row(trigger, source, State.NARRATING, when="has_next_step", before="goto_next_step"),
        _row(trigger, source, State.CLOSING, before="goto_closing"),
    ]


def _finish_group(trigger: str | Command, source: State | tuple[State, ...]) -> list[Row]:
    """A stroke group is done: the next group of the step, or the step is done."""
    return [
        _row(trigger, source, State.NARRATING, when="has_next_group", before="goto_next_group"),
        *_finish_step(trigger, source),
    ]


def _return_to(trigger: str | Command, source: State, after: str) -> list[Row]:
    """Go back to the state that a pause or a stop question interrupted."""
    return [_row(trigger, source, s, when=f"returns_to_{s.value}", after=after, returning=True)
            for s in RESUMABLE if s is not source]


def transitions_table() -> list[Row]:
    """Every transition, in the order `transitions` tries them (first passing condition wins)."""
    C = Command
    rows: list[Row] = []
    # Starting: fresh, or with an offer to resume a saved place.
    for cmd in (C.START, C.READY):
        rows += [_row(cmd, State.IDLE, State.OFFER, when="has_checkpoint"),
                 _row(cmd, State.IDLE, State.INTRO, before="begin_fresh")]
    for cmd in (C.RESUME, C.YES):
        rows += [_row(cmd, State.OFFER, State.CLOSING, when="checkpoint_at_end", before="begin_from_checkpoint"),
                 _row(cmd, State.OFFER, State.NARRATING, before="begin_from_checkpoint")]
    for cmd in (C.START, C.NO):
        rows.append(_row(cmd, State.OFFER, State.INTRO, before="begin_fresh"))
    rows.append(_row(C.REPEAT, State.OFFER, None, after="make_offer"))

    # Narration: one sentence at a time, each acknowledged by narration_done.
    talking = (State.INTRO, State.NARRATING, State.CLOSING)
    rows.append(_row("narration_done", talking, None, when="more_to_say", after="say_next"))
    rows.append(_row("narration_done", State.INTRO, State.NARRATING, before="goto_first_step"))
    rows.append(_row("narration_done", State.NARRATING, State.HOLD, when="is_hold_step"))
    rows.append(_row("narration_done", State.NARRATING, State.STROKES))
    rows.append(_row("narration_done", State.CLOSING, State.FINISHED))

    # Strokes: a beat starts each repetition; the beat after the last one ends the group.
    rows.append(_row("beat", State.STROKES, None, when="stroke_continues", after="count_stroke"))
    rows += _finish_group("beat", State.STROKES)
    rows += _finish_step("timeout", State.HOLD)
    rows.append(_row("remind", State.HOLD, None, after="remind_hold"))  # a long quiet hold: how to go on
    rows += _finish_step("timeout", State.REST, rest=False)

    # next: this part is done.
    rows.append(_row(C.NEXT, State.INTRO, State.NARRATING, before="goto_first_step"))
    rows += _finish_group(C.NEXT, (State.NARRATING, State.STROKES))
    for cmd in (C.NEXT, C.READY, C.RESUME):
        rows += _finish_step(cmd, State.HOLD)
    rows += _finish_step(C.NEXT, State.REST, rest=False)
    rows.append(_row(C.NEXT, State.CLOSING, State.FINISHED, before="leave"))

    # back, repeat.
    rows.append(_row(C.BACK, (*IN_STEP, State.CLOSING), State.NARRATING, when="can_go_back", before="go_back"))
    rows.append(_row(C.BACK, (State.INTRO, *IN_STEP), None, after="hint_at_start"))
    rows.append(_row(C.REPEAT, IN_STEP, State.NARRATING, before="repeat_step"))
    rows.append(_row(C.REPEAT, State.INTRO, State.INTRO, before="leave"))
    rows.append(_row(C.REPEAT, State.CLOSING, State.CLOSING, before="repeat_closing"))

    # Tempo, volume, questions: the state stays.
    for cmd, action in ((C.SLOWER, "go_slower"), (C.FASTER, "go_faster")):
        rows.append(_row(cmd, (*ACTIVE, State.PAUSED), None, after=action))
    for cmd, action in ((C.LOUDER, "volume_up"), (C.QUIETER, "volume_down"), (C.HELP, "say_help")):
        rows.append(_row(cmd, LIVE, None, after=action))
    rows.append(_row(C.WHERE, (*ACTIVE, State.PAUSED, State.CONFIRM_STOP), None, after="say_where"))

    # pause / resume: everything freezes mid-count and continues from exactly that beat.
    rows.append(_row(C.PAUSE, ACTIVE, State.PAUSED, before="freeze", after="say_paused"))
    for cmd in (C.RESUME, C.READY):
        rows += _return_to(cmd, State.PAUSED, after="thaw")
    for cmd in (C.NEXT, C.BACK, C.REPEAT):
        rows.append(_row(cmd, State.PAUSED, None, after="say_paused"))  # a reminder of how to go on

    # stop: ask first; yes (or stop again) ends with the place saved; no, resume or silence carries on.
    rows.append(_row(C.STOP, (*ACTIVE, State.PAUSED), State.CONFIRM_STOP, before="freeze"))
    for cmd in (C.YES, C.STOP):
        rows.append(_row(cmd, State.CONFIRM_STOP, State.STOPPED))
    for answer in (C.NO, C.RESUME, "timeout"):
        rows += _return_to(answer, State.CONFIRM_STOP, after="thaw")
    rows.append(_row(C.REPEAT, State.CONFIRM_STOP, None, after="say_confirm"))
    return rows


def build_machine(model: object, graph: bool = False) -> Machine:
    """The machine for a model (the conductor), or a GraphMachine that draws the same table."""
    kwargs: dict[str, Any] = dict(
        model=model,
        states=[{"name": s, "on_enter": "announce_state"} for s in State],
        initial=State.IDLE,
        transitions=transitions_table(),
        queued=True,
        auto_transitions=False,
        ignore_invalid_triggers=True,
    )
    if graph:
        from transitions.extensions import GraphMachine

        return GraphMachine(graph_engine="mermaid", title="voiceguide session", **kwargs)
    return Machine(**kwargs)
