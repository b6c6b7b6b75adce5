"""Every command, in each state where it matters, on the mini pack under the virtual clock."""

from __future__ import annotations

import pytest

from voiceguide.core.commands import Command as C
from voiceguide.session import Position, SessionSettings, State


def to_strokes(h, group: int = 0, step: int = 0) -> None:
    h.start()
    h.run_until(lambda: h.state is State.STROKES and h.session.position.step == step
                and h.session.position.group == group)


def test_start_runs_the_intro_then_step_one_with_placeholders_filled(harness):
    h = harness
    assert h.state is State.IDLE
    assert h.session.expected_commands() >= {C.START, C.HELP}
    h.start()
    assert h.state is State.INTRO
    assert h.texts() == ["Welcome to the mini routine."]
    h.until_state(State.STROKES)
    said = [e.text for e in h.sim.entries if e.type == "say"]
    assert said[:4] == ["Welcome to the mini routine.", "Relax your shoulders.", "Step 1 of 3: the forehead.",
                        "Glide up 3 times."]
    assert ("cue", "[chime]") in [(e.type, e.text) for e in h.sim.entries]


def test_counts_come_on_beats_spaced_by_stroke_seconds(harness):
    h = harness
    to_strokes(h)
    first = h.until_count("1, up")
    second = h.until_count("2, up")
    third = h.until_count("3, up")
    assert second.t - first.t == pytest.approx(2.0)
    assert third.t - second.t == pytest.approx(2.0)
    h.until_state(State.NARRATING)
    assert h.session.position == Position(0, 1, 0)
    assert h.clock.now() - third.t == pytest.approx(2.0)


def test_a_group_that_does_not_count_aloud_says_its_cue_and_a_group_without_cue_ticks(harness):
    h = harness
    to_strokes(h, group=1)
    h.mark()
    h.until_state(State.NARRATING)
    assert h.texts("cue") == ["out", "out"]
    h.until_state(State.HOLD)
    h.cmd(C.NEXT)
    h.until_state(State.REST)
    assert [e.text for e in h.since("cue")].count("[tick]") == 4


def test_next_skips_the_intro(harness):
    h = harness
    h.start()
    assert h.cmd(C.NEXT)
    assert h.state is State.NARRATING
    assert [e.type for e in h.since()][:1] == ["silence"]  # the intro sentence is cut
    assert h.texts()[0] == "Step 1 of 3: the forehead."


def test_next_in_narration_or_mid_count_goes_to_the_next_group_then_the_next_step(harness):
    h = harness
    to_strokes(h)
    h.until_count("2, up")
    assert h.cmd(C.NEXT)
    assert (h.state, h.session.position) == (State.NARRATING, Position(0, 1, 0))
    assert h.texts() == ["Now out to the temples, 2 times."]
    assert h.cmd(C.NEXT)
    assert (h.state, h.session.position) == (State.NARRATING, Position(1, 0, 0))
    assert h.texts() == ["Breathe slowly until you feel calm."]


@pytest.mark.parametrize("command", [C.NEXT, C.READY, C.RESUME])
def test_a_hold_waits_until_next_ready_or_go(mini, make_harness, command):
    h = make_harness(mini, SessionSettings(hold_timeout=None))
    h.start()
    h.until_state(State.HOLD)
    assert h.sim.entries[-1].text == "When you have finished, say ready."
    h.advance(3600)
    assert h.state is State.HOLD and h.session.position == Position(1, 0, 0)
    assert h.cmd(command)
    assert (h.state, h.session.position) == (State.NARRATING, Position(2, 0, 0))


def test_a_hold_is_released_after_hold_timeout_in_simulations(harness):
    h = harness
    h.start()
    h.until_state(State.HOLD)
    entered = h.clock.now()
    h.until_state(State.NARRATING)
    assert h.clock.now() - entered == pytest.approx(30.0)


def test_rest_then_closing_then_finished_and_next_skips_rest_and_closing(harness):
    h = harness
    h.start()
    h.until_state(State.REST)
    assert h.session.position == Position(2, 1, 0)
    assert h.cmd(C.NEXT)
    assert h.state is State.CLOSING
    assert h.texts() == ["All done, well done."]
    assert h.cmd(C.NEXT)
    assert h.state is State.FINISHED and h.session.over
    assert h.session.expected_commands() == set()


def test_back_at_the_very_start_says_so_and_stays(harness):
    h = harness
    h.start()
    assert h.cmd(C.BACK)
    assert h.state is State.INTRO and h.texts("hint") == ["This is the beginning."]
    h.until_state(State.NARRATING)
    assert h.cmd(C.BACK)
    assert h.state is State.NARRATING and h.texts("hint") == ["This is the first step."]
    assert h.session.position == Position(0, 0, 0)


def test_back_mid_count_restarts_the_group_and_at_a_start_goes_to_the_previous_group_or_step(harness):
    h = harness
    to_strokes(h)
    h.until_count("3, up")
    assert h.session.position == Position(0, 0, 2)
    h.cmd(C.BACK)
    assert (h.state, h.session.position) == (State.NARRATING, Position(0, 0, 0))
    assert h.texts()[0] == "Step 1 of 3: the forehead."
    h.until_count("1, up")  # counting starts again from one
    h.until_state(State.NARRATING)  # group 2's instruction
    assert h.session.position == Position(0, 1, 0)
    h.cmd(C.BACK)
    assert h.session.position == Position(0, 0, 0)
    h.until_state(State.HOLD)
    h.cmd(C.BACK)
    assert (h.state, h.session.position) == (State.NARRATING, Position(0, 0, 0))


def test_back_during_a_rest_goes_to_the_start_of_the_step_just_done(harness):
    h = harness
    h.start()
    h.until_state(State.REST)
    h.cmd(C.BACK)
    assert (h.state, h.session.position) == (State.NARRATING, Position(2, 0, 0))
    assert h.texts() == ["Glide along the jaw."]


def test_repeat_says_the_instruction_again_and_restarts_the_count(harness):
    h = harness
    to_strokes(h, group=1)
    h.until_count("out")
    h.until_count("out")
    assert h.session.position == Position(0, 1, 1)
    h.cmd(C.REPEAT)
    assert (h.state, h.session.position) == (State.NARRATING, Position(0, 1, 0))
    assert h.texts() == ["Step 1 of 3: the forehead."]
    h.until_state(State.STROKES)
    assert [e.text for e in h.since("say")] == ["Step 1 of 3: the forehead.", "Glide up 3 times.",
                                                 "Now out to the temples, 2 times."]


def test_repeat_in_the_intro_starts_it_over(harness):
    h = harness
    h.start()
    h.until_count  # noqa: B018 - the intro is two sentences; wait for the second
    h.run_until(lambda: len(h.sim.entries) >= 3)
    h.cmd(C.REPEAT)
    assert h.state is State.INTRO and h.texts() == ["Welcome to the mini routine."]


def test_slower_and_faster_scale_beats_and_speech_within_bounds(harness):
    h = harness
    to_strokes(h)
    h.until_count("1, up")
    h.cmd(C.SLOWER)
    assert h.session.tempo == pytest.approx(1.25)
    assert h.texts("hint") == ["Slower."]
    assert h.since("say")[0].data["rate_scale"] == pytest.approx(0.8)
    a = h.until_count("2, up")  # the beat already scheduled keeps its time
    b = h.until_count("3, up")
    assert b.t - a.t == pytest.approx(2.5)
    assert b.data["rate_scale"] == pytest.approx(0.8)
    for _ in range(2):
        h.cmd(C.FASTER)
    assert h.session.tempo == pytest.approx(0.8)
    for _ in range(5):
        h.cmd(C.FASTER)
    assert h.session.tempo == pytest.approx(0.5)
    assert h.texts("hint") == ["That is the fastest pace."]
    for _ in range(8):
        h.cmd(C.SLOWER)
    assert h.session.tempo == pytest.approx(2.0)
    assert h.texts("hint") == ["That is the slowest pace."]


def test_tempo_changes_are_remembered_for_the_next_session(mini, make_harness, store):
    h = make_harness(mini, store=store)
    to_strokes(h)
    h.cmd(C.SLOWER)
    h.cmd(C.SLOWER)
    assert store.tempo_for("mini") == pytest.approx(1.5625)
    h2 = make_harness(mini, store=store)
    h2.start()
    if h2.state is State.OFFER:
        h2.cmd(C.START)
    assert h2.session.tempo == pytest.approx(1.5625)
    assert h2.since("say")[-1].data["rate_scale"] == pytest.approx(0.64)


def test_pause_freezes_mid_count_and_resume_continues_from_exactly_that_beat(harness):
    h = harness
    to_strokes(h)
    beat = h.until_count("2, up")
    h.advance(0.5)
    h.cmd(C.PAUSE)
    assert h.state is State.PAUSED
    assert [e.type for e in h.since()][:2] == ["silence", "state"]
    assert h.texts("hint") == ["Paused. Say resume to carry on."]
    frozen = h.session.position
    h.mark()
    h.advance(500)
    assert h.session.position == frozen and h.since("say") == []
    resumed_at = h.clock.now()
    h.cmd(C.RESUME)
    assert h.state is State.STROKES
    nxt = h.until_count("3, up")
    assert nxt.t - resumed_at == pytest.approx(2.0 - 0.5)
    assert h.session.position == Position(0, 0, 2)
    assert beat.text == "2, up"


def test_pause_during_narration_says_the_cut_sentence_again_on_resume(harness):
    h = harness
    h.start()
    h.until_state(State.NARRATING)
    h.advance(1.0)
    h.cmd(C.PAUSE)
    h.advance(60)
    h.cmd(C.RESUME)
    assert h.state is State.NARRATING
    assert h.texts("say") == ["Step 1 of 3: the forehead."]


def test_commands_that_mean_nothing_while_paused_are_ignored_without_harm(harness):
    h = harness
    to_strokes(h)
    h.cmd(C.PAUSE)
    expected = h.session.expected_commands()
    assert C.RESUME in expected and C.PAUSE not in expected
    frozen = h.session.position
    for command in (C.NEXT, C.BACK, C.REPEAT):  # moving on while paused: a reminder, no move
        assert h.cmd(command)
        assert (h.state, h.session.position) == (State.PAUSED, frozen)
        assert h.texts("hint") == ["Paused. Say resume to carry on."]
    for command in (C.PAUSE, C.YES, C.NO, C.START):
        assert not h.cmd(command)
        assert h.state is State.PAUSED and h.sim.entries[-1].text.endswith("(ignored)")
        assert h.since() == []


def test_stop_asks_and_no_carries_on_from_the_same_beat(harness):
    h = harness
    to_strokes(h)
    h.until_count("2, up")
    h.advance(1.0)
    h.cmd(C.STOP)
    assert h.state is State.CONFIRM_STOP
    assert "Say yes to end, or no to carry on." in h.texts("hint")[0]
    assert h.session.expected_commands() >= {C.YES, C.NO, C.STOP, C.RESUME}
    h.advance(5)
    at = h.clock.now()
    h.cmd(C.NO)
    assert h.state is State.STROKES
    assert h.until_count("3, up").t - at == pytest.approx(1.0)


def test_stop_confirmed_by_yes_or_a_second_stop_ends_with_the_place_saved(mini, make_harness, store):
    for confirm in (C.YES, C.STOP):
        h = make_harness(mini, store=store)
        h.start()
        if h.state is State.OFFER:
            h.cmd(C.START)
        h.until_state(State.HOLD)
        h.cmd(C.STOP)
        h.cmd(confirm)
        assert h.state is State.STOPPED and h.session.over
        assert "Your place is saved" in h.texts("hint")[0]
        cp = store.checkpoint_for("mini")
        assert cp is not None and (cp.step, cp.step_id) == (1, "breathe")


def test_an_unanswered_stop_question_carries_on(harness):
    h = harness
    h.start()
    h.until_state(State.HOLD)
    h.cmd(C.STOP)
    h.run_until(lambda: h.state is not State.CONFIRM_STOP, limit=60)
    assert h.state is State.HOLD
    assert h.clock.now() - h.since("say")[0].t == pytest.approx(15.0)


def test_stop_while_paused_then_no_stays_paused(harness):
    h = harness
    to_strokes(h)
    h.cmd(C.PAUSE)
    frozen = h.session.position
    h.cmd(C.STOP)
    h.cmd(C.NO)
    assert h.state is State.PAUSED and h.texts("hint") == ["Paused. Say resume to carry on."]
    h.advance(100)
    assert h.session.position == frozen
    h.cmd(C.RESUME)
    assert h.state is State.STROKES


def test_where_says_step_repetition_and_time_left(harness):
    h = harness
    to_strokes(h)
    h.until_count("2, up")
    h.cmd(C.WHERE)
    (text,) = h.texts("hint")
    assert text.startswith("Step 1 of 3, Forehead. Repetition 2 of 3. Part 1 of 2. About ")
    assert text.endswith(" left.")
    assert h.state is State.STROKES


def test_help_lists_what_can_be_said_now(harness):
    h = harness
    h.start()
    h.until_state(State.STROKES)
    h.cmd(C.HELP)
    (text,) = h.texts("hint")
    assert text == "You can say: next, back, repeat, slower, faster, pause, stop, where am i, help, louder, quieter."
    h.cmd(C.PAUSE)
    h.cmd(C.HELP)
    (text,) = h.texts("hint")
    assert "resume" in text and "pause" not in text


def test_louder_and_quieter_ask_the_player_for_volume(harness):
    h = harness
    h.cmd(C.LOUDER)  # works before starting too
    assert [(e.type, e.data["change"]) for e in h.since("volume")] == [("volume", 1)]
    h.start()
    h.cmd(C.QUIETER)
    assert [e.data["change"] for e in h.since("volume")] == [-1]
    assert h.state is State.INTRO


def test_yes_and_no_outside_a_question_are_ignored(harness):
    h = harness
    to_strokes(h)
    pos = h.session.position
    assert not h.cmd(C.YES) and not h.cmd(C.NO) and not h.cmd(C.START)
    assert (h.state, h.session.position) == (State.STROKES, pos)


def test_a_stale_narration_done_does_not_move_the_script(harness):
    h = harness
    h.start()
    first = h.since("say")[0]
    h.cmd(C.NEXT)  # jumps away from the intro sentence
    assert h.state is State.NARRATING
    from voiceguide.core.events import Say

    assert not h.session.narration_done(Say(first.text, first.t, rate_scale=1.0))
    assert not h.session.narration_done(Say("never said", 0.0))
    assert h.session.position == Position(0, 0, 0)


def test_the_builtin_routine_runs_end_to_end_with_no_commands(builtin, make_harness):
    h = make_harness(builtin)
    h.start()
    h.until_state(State.FINISHED, limit=24 * 3600)
    steps = {e.data["step"] for e in h.sim.entries if e.type == "state" and e.data["state"] == "strokes"}
    total = sum(1 for s in builtin.pack.steps if s.strokes)
    assert len(steps) == total
    counts = [e for e in h.sim.entries if e.type == "say" and e.data["kind"] == "count"]
    aloud = sum(g.count for s in builtin.pack.steps for g in s.strokes if g.count_aloud)
    assert len(counts) == aloud


def test_a_player_that_reports_speech_done_from_inside_the_sink_still_moves_the_script(mini):
    from voiceguide.core.events import Say
    from voiceguide.session import Session, VirtualClock

    clock = VirtualClock()
    said: list[str] = []
    holder: dict[str, Session] = {}

    def instant_player(event: object) -> None:
        if isinstance(event, Say):
            said.append(event.text)
            holder["s"].narration_done(event)

    session = Session(mini.pack, mini.content_hash, clock, instant_player, SessionSettings(hold_timeout=1.0))
    holder["s"] = session
    session.start()
    clock.run(until=lambda: session.over)
    assert session.state is State.FINISHED
    assert said[:3] == ["Welcome to the mini routine.", "Relax your shoulders.", "Step 1 of 3: the forehead."]


def test_a_quiet_hold_reminds_the_person_how_to_go_on_a_few_times_then_waits(mini, make_harness):
    h = make_harness(mini, SessionSettings(hold_timeout=None, hold_reminder=120.0, hold_reminders=2))
    h.start()
    h.until_state(State.HOLD)
    h.mark()
    entered = h.clock.now()
    h.advance(119.0)
    assert h.texts() == []
    h.advance(2.0)
    assert h.texts("hint") == ["Take your time. When you have finished, say ready."]
    h.advance(3600)
    reminders = [e for e in h.since("say", "hint")]
    assert [round(e.t - entered) for e in reminders] == [120, 240]  # two, as set, then silence
    assert h.state is State.HOLD
    assert h.cmd(C.READY) and h.state is State.NARRATING


def test_a_pause_in_a_hold_holds_the_reminder_too(mini, make_harness):
    h = make_harness(mini, SessionSettings(hold_timeout=None, hold_reminder=120.0))
    h.start()
    h.until_state(State.HOLD)
    h.advance(100.0)
    assert h.cmd(C.PAUSE)
    h.advance(600.0)
    h.mark()
    assert h.texts("hint") == []  # nothing while paused
    assert h.cmd(C.RESUME)
    h.mark()
    h.advance(19.0)
    assert h.texts("hint") == []
    h.advance(2.0)
    assert h.texts("hint") == ["Take your time. When you have finished, say ready."]  # the 20 s that were left
