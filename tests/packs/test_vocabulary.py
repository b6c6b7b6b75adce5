"""The command vocabulary: phrases → commands, per language, with pack changes."""

from __future__ import annotations

from voiceguide.core.commands import BUILTIN_PHRASES, Command, builtin_vocabulary
from voiceguide.packs.loader import load_pack
from voiceguide.packs.vocabulary import pack_vocabulary


def test_every_command_has_phrases_in_every_builtin_language() -> None:
    for language, phrases in BUILTIN_PHRASES.items():
        assert set(phrases) == set(Command), language
        assert all(phrases[c] for c in Command)


def test_match_ignores_case_and_punctuation_and_needs_a_whole_phrase() -> None:
    en = builtin_vocabulary("en-US")
    assert en.match("Go back!") is Command.BACK
    assert en.match("  where am I? ") is Command.WHERE
    assert en.match("go") is Command.RESUME
    assert en.match("go now") is None
    assert en.match("next", commands=[Command.PAUSE]) is None
    assert builtin_vocabulary("ko-KR").match("다음 단계") is Command.NEXT


def test_find_in_matches_whole_words_only() -> None:
    en = builtin_vocabulary("en")
    assert en.find_in("It helps the skin; nose and neck") == []
    assert {c for _, c in en.find_in("No, go on")} == {Command.NO, Command.RESUME}


def test_pack_changes_extend_the_vocabulary() -> None:
    voc = builtin_vocabulary("en").with_changes(add={Command.NEXT: ["Onward"]}, replace={Command.STOP: ["finish"]})
    assert voc.match("onward") is Command.NEXT and voc.match("next") is Command.NEXT
    assert voc.match("finish") is Command.STOP and voc.match("stop") is None
    assert pack_vocabulary(load_pack("facial-massage").pack).match("pause") is Command.PAUSE


def test_unknown_language_falls_back_to_english() -> None:
    assert builtin_vocabulary("de-DE").language == "en"
