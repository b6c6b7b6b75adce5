"""The echo guard with the real fallback recognizer: the built-in pack's own narration must not command it."""

from __future__ import annotations

import numpy as np
import pytest
from audio_helpers import decode, espeak, narration_audio, pack_narration

from voiceguide.core.commands import Command
from voiceguide.core.events import Heard
from voiceguide.packs.loader import load_pack
from voiceguide.speech.echo import EchoGuard


@pytest.fixture(scope="module")
def narration():
    return narration_audio(pack_narration(load_pack("facial-massage").pack))


def _guarded(recognizer, vocabulary, audio, spans):
    guard = EchoGuard(vocabulary)
    for text, start, end in spans:
        guard.playing(text, start, end)
    return guard.filter(decode(recognizer, audio)), guard


def test_the_packs_own_narration_gives_zero_commands(sphinx, en_vocabulary, narration):
    audio, spans = narration
    admitted, guard = _guarded(sphinx, en_vocabulary, audio, spans)
    assert admitted == [], admitted
    assert len(audio) / 16000 > 60  # the whole pack, not a token sentence


def test_a_person_saying_pause_over_the_narration_is_heard(sphinx, en_vocabulary, narration):
    # The fallback cuts utterances at silences, so the person is heard between narration sentences (here 1.6 s
    # apart, as between the steps of a routine); over unbroken narration it hears one long, ignored stretch.
    audio, spans = narration_audio(pack_narration(load_pack("facial-massage").pack)[:6], gap=1.6)
    audio = audio.copy()
    pause = espeak("pause", "en-us+m3", 150)
    text, _, end = spans[2]
    at = int((end + 0.5) * 16000)
    audio[at : at + len(pause)] = np.clip(audio[at : at + len(pause)].astype(np.int32) + pause, -32768, 32767)
    admitted, _ = _guarded(sphinx, en_vocabulary, audio, spans)
    assert [h.command for h in admitted] == [Command.PAUSE]
    assert abs(admitted[0].end - (end + 0.5 + len(pause) / 16000)) < 0.4


def test_guard_drops_only_words_that_were_being_played(en_vocabulary):
    guard = EchoGuard(en_vocabulary)
    guard.playing("Now stop and rest your hands.", 10.0, 12.0)
    said_stop = Heard("stop", Command.STOP, 1.0, 11.0, 11.4)
    assert not guard.admit(said_stop)
    assert guard.admit(Heard("pause", Command.PAUSE, 1.0, 11.0, 11.4))  # not in the narration: the person
    assert not guard.admit(Heard("stop", Command.STOP, 1.0, 12.2, 12.5))  # within the tail
    assert guard.admit(Heard("stop", Command.STOP, 1.0, 14.0, 14.3))  # long after: the person
    assert guard.dropped == [said_stop, Heard("stop", Command.STOP, 1.0, 12.2, 12.5)]


def test_with_the_canceller_echo_is_told_from_a_person_by_the_audio(en_vocabulary):
    """The speaker says "Say stop to end the session"; its echo's "stop" is dropped, a person's "stop" said over the
    same sentence is kept, though the word is in what was playing (answering the stop question or the help list)."""
    pytest.importorskip("livekit.rtc", reason="echo cancellation needs the livekit wheel")
    from voiceguide.audio.clip import resample
    from voiceguide.audio.echo_cancel import EchoCanceller

    lead = espeak("Place your fingertips on your forehead and glide them slowly outward to your temples.", "en-us", 160)
    question = espeak("Say stop to end the session, or resume to carry on.", "en-us", 160)
    played = np.concatenate([lead, question]).astype(np.float32) / 32768
    render = resample(played, 16000, 22050).astype(np.float32)  # the Player's rate
    delay = int(0.04 * 16000)
    echo = np.concatenate([np.zeros(delay, np.float32), played[:-delay]]) * 0.5
    stop_at = len(lead) + int(0.25 * 16000)  # "stop" is the question's second word
    person = espeak("stop", "en-us+m3", 140).astype(np.float32) / 32768

    def run(with_person: bool) -> EchoGuard:
        mic = echo.copy()
        if with_person:
            mic[stop_at : stop_at + len(person)] += person * 0.7
        mic16 = np.clip(mic * 32767, -32768, 32767).astype(np.int16)
        canceller = EchoCanceller()
        guard = EchoGuard(en_vocabulary)
        guard.playing("Say stop to end the session, or resume to carry on.", len(lead) / 16000, len(played) / 16000)
        for k in range(len(mic16) // 320):
            canceller.render(render[k * 441 : (k + 1) * 441], 22050, at=k * 0.02)
            raw = mic16[k * 320 : (k + 1) * 320]
            cleaned = canceller.process(raw, captured_at=k * 0.02)
            guard.microphone(raw, k * 0.02, cleaned, k * 0.02 - (len(cleaned) - len(raw)) / 16000)
        return guard

    heard = Heard("stop", Command.STOP, 0.9, stop_at / 16000 - 0.1, stop_at / 16000 + 0.5)
    alone = run(with_person=False)
    assert not alone.admit(heard), alone.removed_db(heard.start, heard.end)
    both = run(with_person=True)
    assert both.admit(heard), both.removed_db(heard.start, heard.end)
