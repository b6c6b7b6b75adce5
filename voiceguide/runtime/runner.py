"""`voiceguide run`: microphone → recognizer → session → narration → speaker, wired once, run to the end.

Data flows one way. Audio chunks are read on a listening thread and turned into commands there; every
command is handed to the clock's thread (`clock.post`), where the session runs; the session's output
events go to the speaker (or are printed). What flows back is a typed event handed to the runner's inbox
(`tell`): the speaker's NarrationDone (to the session, on the clock's thread), the session's CommandsExpected
(to the listening thread's grammar queue, applied before its next chunk), the sink's NowPlaying (to the
duplex part: echo guard, canceller, ducker) and a device's DeviceStatus (pause, say why).
With `--input-wav` the clock is virtual and follows the input's audio position, so a command spoken
20 s into the file acts 20 s into the session, and `--output-wav` is written on the same timeline.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from voiceguide.audio.player import Player
from voiceguide.audio.wav_sink import WavSink
from voiceguide.core.commands import Command, Vocabulary
from voiceguide.core.events import (
    CommandEvent,
    CommandsExpected,
    DeviceStatus,
    Heard,
    NarrationDone,
    NowPlaying,
    Say,
    StateChanged,
)
from voiceguide.packs.loader import LoadedPack
from voiceguide.runtime.duplex import Duplex
from voiceguide.runtime.plan import IoPlan, RunSettings
from voiceguide.runtime.relisten import keep_listening
from voiceguide.runtime.stdin_reader import stdin_reader
from voiceguide.session.clock import RealClock, VirtualClock
from voiceguide.session.conductor import Output
from voiceguide.session.console import typed_command
from voiceguide.session.session import Session
from voiceguide.session.standin import EstimatedSpeech
from voiceguide.session.transcript import Entry, TranscriptWriter, transcript_entry
from voiceguide.speech.base import Recognizer
from voiceguide.store import Store

__all__ = ["BackChannel", "Runner"]

BackChannel = NarrationDone | CommandsExpected | NowPlaying | DeviceStatus
"""What flows back to the runner's inbox."""

_MIC_LOST = "I can't hear you any more: the microphone is gone. I'll keep your place until it is back."
_MIC_BACK = "The microphone is back. Say resume to carry on."
_DEAF = "I can't hear you for a moment. I'll keep your place and listen again shortly."
_HEARING = "I can hear you again. Say resume to carry on."

_LOGGER = logging.getLogger(__name__)


class Runner:
    """One guided session: builds the parts for an IoPlan, runs until the routine ends, and cleans up.

    `offer_answer`: a command already said for the session's offer to resume (serve's idle "resume"), given
    when the offer is made, so the person need not say it twice.
    """

    def __init__(
        self,
        loaded: LoadedPack,
        settings: RunSettings,
        plan: IoPlan,
        store: Store | None,
        vocabulary: Vocabulary,
        write: Callable[[Entry], None],
        listener_factory: Callable[[], Recognizer] | None = None,
        offer_answer: Command | None = None,
    ) -> None:
        self.loaded = loaded
        self.settings = settings
        self.plan = plan
        self.store = store
        self.vocabulary = vocabulary
        self._write = TranscriptWriter(write)
        self._listener_factory = listener_factory
        self._offer_answer = offer_answer
        self.clock: RealClock | VirtualClock = VirtualClock() if plan.listen == "wav" else RealClock(settings.speed)
        self._speaker: Any = None
        self._sink: Any = None
        self._estimate: EstimatedSpeech | None = None
        self._listener: Recognizer | None = None
        self._duplex: Duplex | None = None
        self._grammar: queue.SimpleQueue[CommandsExpected] = queue.SimpleQueue()
        """CommandsExpected on their way to the listening thread (the newest wins)."""
        self._source: Any = None
        self._stopping = threading.Event()
        self._typing: Callable[[], None] = lambda: None
        self.session = Session(loaded.pack, loaded.content_hash, self.clock, self._on_output,
                               settings.session, store, vocabulary)
        self.heard: list[Heard] = []

    # ---- the inbox ------------------------------------------------------------------------------
    def tell(self, event: BackChannel) -> None:
        """Any part, any thread: a back-channel event, handed to its one owner."""
        match event:
            case NarrationDone(say=say):
                if isinstance(self.clock, VirtualClock):
                    self.session.narration_done(say)  # the WAV sink reports inside advance_to, on our thread
                else:
                    self.clock.post(lambda: self.session.narration_done(say))
            case CommandsExpected():
                self._grammar.put(event)
            case NowPlaying():
                if self._duplex is not None:
                    self._duplex.now_playing(event)
            case DeviceStatus():
                self._device_status(event)

    def _narrated(self, say: Say) -> None:
        self.tell(NarrationDone(say))

    # ---- output ---------------------------------------------------------------------------------
    def _on_output(self, event: Output) -> None:
        entry = transcript_entry(event, self.loaded.pack)
        if entry is not None:
            self._write(entry)
        if self._speaker is not None:
            self._speaker.handle(event)
        elif self._estimate is not None:
            self._estimate(event)
        if isinstance(event, StateChanged):
            if self._listener is not None:
                self._narrow()
            if event.state == "offer" and self._offer_answer is not None:
                answer, self._offer_answer = self._offer_answer, None
                self.clock.post(lambda: self._command(answer, "voice"))

    def _narrow(self) -> None:
        """On the clock's thread: the commands this state expects, for the listening thread's next chunk."""
        self.tell(CommandsExpected(frozenset(self.session.expected_commands())))

    def _open_output(self) -> None:
        pack = self.loaded.pack
        if self.plan.speak == "print":
            self._estimate = EstimatedSpeech(self.clock, pack.voice.rate, self.session.narration_done)
            return
        from voiceguide.audio.factory import open_sink
        from voiceguide.audio.player import PlayerSettings
        from voiceguide.voice.narrator import Narrator, NarratorSettings
        from voiceguide.voice.render import pack_sentences
        from voiceguide.voice.speaker import Speaker

        narrator = Narrator(NarratorSettings(
            engine=self.settings.tts,
            voice=self.settings.voice or pack.voice.name,
            language=pack.pack.language,
            rate=pack.voice.rate,
            cache_dir=self.settings.cache_dir,
        ))
        self._sink = open_sink(
            device=self.settings.output_device,
            wav=self.settings.output_wav if self.plan.speak == "wav" else None,
            clock=self.clock.now,
            realtime=isinstance(self.clock, RealClock),
            on_status=self.tell,
            settings=PlayerSettings(volume=self.settings.volume),
        )
        self._sink.subscribe(self.tell)
        texts = [sentence.text for sentence in pack_sentences(pack)]
        # on a real clock a sentence missing from the cache renders off the clock's thread (the beats go
        # on); on a virtual one synthesis takes no clock time, so it is made at once, deterministically
        post = self.clock.post if isinstance(self.clock, RealClock) else None
        self._speaker = Speaker(narrator, self._sink, self._narrated, sounds_dir=self.loaded.folder,
                                prefetch=texts, post=post)
        self._speaker.prefetch(1.0 / self.session.tempo)

    # ---- input ----------------------------------------------------------------------------------
    def _command(self, command: Command, source: str) -> None:
        """On the clock's thread: one command reaches the session."""
        if self.session.over:
            return
        self._write.command(CommandEvent(command, self.clock.now(), source), self.session.handle)

    def feed_text(self, line: str, source: str = "keyboard") -> Command | None:
        """A typed line (any thread): a command phrase or a command name."""
        command = typed_command(self.vocabulary, line)
        if command is None:
            if line.strip():
                self._write(Entry(self.clock.now(), "hint", f"not a command: {line.strip()!r} (try: help)"))
            return None
        self.clock.post(lambda: self._command(command, source))
        return command

    def _heard(self, heard: Heard) -> None:
        """On the listening thread: a recognized command, unless it is the speaker's own voice."""
        self.heard.append(heard)
        if heard.command is None:
            return
        if self._duplex is not None and not self._duplex.admit(heard):
            self._write(Entry(self.clock.now(), "echo", heard.text, {"dropped": True}))
            return
        command = heard.command
        self.clock.post(lambda: self._command(command, "voice"))

    def _listen(self, samples: Any, start: float) -> None:
        """Feed one chunk to the recognizer, narrowing its commands first if the state changed."""
        assert self._listener is not None
        wanted: CommandsExpected | None = None
        while not self._grammar.empty():
            wanted = self._grammar.get_nowait()
        if wanted is not None:
            self._listener.set_commands(set(wanted.commands))
        for heard in self._listener.feed(samples, start):
            self._heard(heard)

    def _open_duplex(self) -> None:
        """A real speaker and a real mic: the speaker's sound is taken out of the mic before recognition."""
        if not (self.settings.echo_cancel and self.plan.listen == "mic" and self._listener is not None
                and self._duplex is not None and isinstance(self._sink, Player)):
            return
        problem = self._duplex.cancel_echo(self._sink)
        if problem is not None:
            self._write(Entry(self.clock.now(), "notice", problem))

    def _listen_mic(self) -> None:
        """Listen until stopped; a failure pauses the session, and listening restarts after a growing pause."""
        keep_listening(self._new_listener, self._read_mic, self._stopping, self._listening_failed,
                       back=lambda: self._tell("listening again", _HEARING))

    def _read_mic(self) -> None:
        assert self._source is not None and self._duplex is not None
        while not self._stopping.is_set():
            chunk = self._source.read(timeout=0.2)
            if chunk is not None:
                chunk = self._duplex.clean(chunk)
                self._listen(chunk.samples, chunk.start)

    def _new_listener(self) -> None:
        """A fresh recognizer after a failure, narrowed (on the clock's thread) to what the session expects."""
        assert self._listener_factory is not None and self._source is not None
        self._listener = self._listener_factory()
        self._source.skip_pending()  # what it heard while deaf is stale
        self.clock.post(self._narrow)

    def _listening_failed(self, exc: Exception, pause: float, again: bool) -> None:
        if not again:  # paused and said once; the retries go only to the log and the transcript
            self.clock.post(lambda: self._command(Command.PAUSE, "device"))
        self._tell(f"listening failed ({exc!r}); listening again in {pause:.0f} s", None if again else _DEAF)

    def _tell(self, note: str, said: str | None) -> None:
        """A device line in the transcript, and a hint said aloud when there is a speaker (else the line is all)."""
        self._write(Entry(self.clock.now(), "device", note, {"hint": said} if said else {}))
        if said is not None and self._speaker is not None:
            self.clock.post(lambda: self._speaker.say(Say(said, self.clock.now(), kind="hint")))

    def _device_status(self, status: DeviceStatus) -> None:
        """A device went away or came back (any thread): pause and say so; the person resumes by voice."""
        what = "microphone" if status.direction == "input" else "speaker"
        _LOGGER.warning("%s %s: %s %s", what, status.device, status.state, status.message)
        if status.state == "lost":
            self.clock.post(lambda: self._command(Command.PAUSE, "device"))
        said = (_MIC_LOST if status.state == "lost" else _MIC_BACK) if what == "microphone" else None
        self._tell(f"{what} {status.state}: {status.message}", said)

    # ---- running --------------------------------------------------------------------------------
    def run(self) -> None:
        """Run the session to its end (or to the end of the input file, or `stop()`)."""
        try:
            if self.plan.listen in ("mic", "wav"):
                from voiceguide.audio.factory import open_source

                self._source = open_source(
                    device=self.settings.input_device,
                    wav=self.settings.input_wav if self.plan.listen == "wav" else None,
                    fast=self.settings.fast,
                    on_status=self.tell,
                    clock=self.clock.now if self.plan.listen == "mic" else time.monotonic,  # the speaker's timeline
                )
                self._duplex = Duplex(self.vocabulary, self._source.stream_time)
                if self._listener_factory is not None:
                    self._listener = self._listener_factory()
                    self._listener.set_commands(self.session.expected_commands())
                    self._write(Entry(self.clock.now(), "listening", self._listener.engine))
            self._open_output()
            self._open_duplex()
            if self.plan.listen == "wav":
                self._run_wav()
                return
            assert isinstance(self.clock, RealClock)
            self.clock.post(self.session.start)
            if self.plan.listen == "mic" and self._listener is not None:
                threading.Thread(target=self._listen_mic, name="listen", daemon=True).start()
            if self.plan.listen == "keyboard" or sys.stdin.isatty():  # typed input only: its end ends the run
                end = (lambda: self.clock.post(self.stop)) if self.plan.listen == "keyboard" else None
                self._typing = stdin_reader().attach(self.feed_text, end)
            self.clock.run(until=lambda: self.session.over)
        finally:
            self.close()

    def _run_wav(self) -> None:
        """The virtual clock follows the input file: chunk by chunk, time moves to the chunk's end."""
        assert isinstance(self.clock, VirtualClock) and self._source is not None
        source = self._source
        self.session.start()
        while not self.session.over and not self._stopping.is_set():
            chunk = source.read(timeout=0.5)
            if chunk is None:
                if source.ended:
                    break
                continue
            end = chunk.start + len(chunk.samples) / source.sample_rate
            self._advance(end)
            if self._listener is not None:
                self._listen(chunk.samples, chunk.start)
                self._advance(end)  # run the commands just posted, at this moment
        if self._listener is not None and not self.session.over:
            for heard in self._listener.flush():
                self._heard(heard)
            self._advance(self.clock.now())

    def _advance(self, t: float) -> None:
        """Session events up to t, then the sound up to t (its 'heard to the end' notices act at once)."""
        clock = self.clock
        assert isinstance(clock, VirtualClock)
        clock.advance_to(t)
        if isinstance(self._sink, WavSink):
            self._sink.advance_to(t)
            clock.advance_to(t)

    def stop(self) -> None:
        """End the run from any thread (Ctrl-C, end of typed input); the checkpoint stays for 'resume'."""
        self._stopping.set()
        if isinstance(self.clock, RealClock):
            self.clock.stop()

    def close(self) -> None:
        """Let the last sound finish (WAV) or cut it (device), and release the devices."""
        self._stopping.set()
        self._typing()  # typed lines go to the next session, not to this one
        if self._source is not None:
            self._source.close()
        if self._sink is not None:
            try:
                self._sink.close()
            except Exception:  # closing must not hide the real outcome
                _LOGGER.exception("closing the speaker failed")
        if self._speaker is not None:
            self._speaker.close()
