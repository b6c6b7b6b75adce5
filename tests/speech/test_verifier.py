"""The English fallback's verifier: its fusion rule, and the recognizer's behaviour when it cannot load."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from audio_helpers import decode, espeak, silence

from voiceguide.core.commands import Command
from voiceguide.core.events import Heard
from voiceguide.speech.base import RecognitionSettings
from voiceguide.speech.echo import EchoGuard
from voiceguide.speech.verifier import BUILTIN_VERIFIER, OTHER, Rule, Verifier, decide


def _p(**given: float) -> dict[str, float]:
    p = dict.fromkeys([c.value for c in Command] + [OTHER], 0.0)
    p.update(given)
    return p


def test_rule_confirms_overrules_or_names_the_command():
    allowed = list(Command)
    rule = Rule(agree=0.1, alone=0.3, switch=0.6, trusted=frozenset({Command.STOP, Command.RESUME}))
    # a trusted command of the decoder's stands when the classifier gives it at least `agree`
    assert decide(_p(stop=0.15, other=0.85), Command.STOP, allowed, rule).command == Command.STOP
    # below that, the classifier's own best trusted command, if it reaches `alone`
    assert decide(_p(stop=0.05, resume=0.6, other=0.35), Command.STOP, allowed, rule).command == Command.RESUME
    # the decoder heard a decoy word; the classifier is sure of a trusted command
    assert decide(_p(resume=0.7, other=0.3), None, allowed, rule).command == Command.RESUME
    # neither is sure: nothing
    verdict = decide(_p(resume=0.2, other=0.8), None, allowed, rule)
    assert verdict.command is None and verdict.probability == 0.2
    # only allowed commands are named
    assert decide(_p(resume=0.7, no=0.25), None, [Command.YES, Command.NO], rule).command is None


def test_rule_leaves_words_it_never_heard_people_say_to_the_decoder():
    allowed = list(Command)
    rule = Rule(agree=0.1, alone=0.3, switch=0.6, trusted=frozenset({Command.STOP}))
    # "start" was learned from espeak-ng only: the classifier's doubt does not veto it...
    assert decide(_p(start=0.01, stop=0.5, other=0.49), Command.START, allowed, rule).command == Command.START
    # ...only a sure trusted word overrules it
    assert decide(_p(start=0.01, stop=0.8, other=0.19), Command.START, allowed, rule).command == Command.STOP
    # and it never names an untrusted word on its own
    assert decide(_p(start=0.9, other=0.1), None, allowed, rule).command is None


def test_bundled_classifier_knows_every_command():
    verifier = Verifier(BUILTIN_VERIFIER)
    assert set(verifier.labels) == {c.value for c in Command} | {OTHER}
    assert 0 < verifier.rule.agree < verifier.rule.alone <= 1.01
    assert verifier.rule.trusted == {Command.STOP, Command.RESUME, Command.YES, Command.NO}  # the corpus' words
    p = verifier.probabilities(np.concatenate([silence(0.3), espeak("continue", "en-us"), silence(0.3)]))
    assert abs(sum(p.values()) - 1) < 1e-4
    short = verifier.window(espeak("yes"))  # shorter than the window: padded in front to its length
    assert len(short) == 32000


def test_without_its_classifier_the_fallback_hears_with_pocketsphinx_alone(en_vocabulary, caplog):
    from voiceguide.speech.sphinx import SphinxRecognizer

    with caplog.at_level(logging.WARNING, logger="voiceguide.speech.sphinx"):
        rec = SphinxRecognizer(en_vocabulary, settings=RecognitionSettings(verifier=Path("/nonexistent/verifier.npz")))
    assert "hearing with pocketsphinx alone" in caplog.text
    heard = decode(rec, np.concatenate([silence(0.4), espeak("pause", "en-us"), silence(0.8)]))
    assert [(h.command, h.confidence) for h in heard] == [(Command.PAUSE, 1.0)]


def test_over_the_speaker_a_command_the_verifier_named_is_kept(en_vocabulary):
    """Issue 12: refusing, over narration, a command whose words only the verifier heard lost most people's
    'repeat's; the speaker's own words are told by the audio (the canceller) or by the sentence being played."""
    guard = EchoGuard(en_vocabulary)
    guard.playing("Let the warmth spread across your cheeks.", 10.0, 13.0)
    assert guard.admit(Heard("we", Command.QUIETER, 0.4, 11.0, 11.6))  # not in the sentence: a person
    assert guard.admit(Heard("pause", Command.PAUSE, 0.9, 11.0, 11.6))
    guard.playing("Say quieter if it is too loud.", 20.0, 22.0)
    assert not guard.admit(Heard("quieter", Command.QUIETER, 0.4, 20.2, 20.8))  # the speaker's word, no canceller
