"""`voiceguide run`: microphone → recognizer → session → narration → speaker, wired once, run to the end.

Data flows one way. Audio chunks are read on a listening thread and turned into commands there; every
command is handed to the clock's thread (`clock.post`), where the session runs; the session's output
events go to the speaker (or are printed), and the speaker reports back when a sentence has been heard.
With `--input-wav` the clock is virtual and follows the input's audio position, so a command spoken
20 s into the file acts 20 s into the session, and `--output-wav` is written on the same timeline.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from voiceguide.core.events import CommandEvent, Heard, Say, StateChanged
from voiceguide.packs.loader import LoadedPack
from voiceguide.relisten import keep_listening
from voiceguide.stdin_reader import stdin_reader
from voiceguide.session.clock import RealClock, VirtualClock
from voiceguide.session.conductor import Output
from voiceguide.session.console import typed_command
from voiceguide.session.session import Session
from voiceguide.session.settings import SessionSettings
from voiceguide.session.transcript import Entry, TranscriptWriter, transcript_entry
from voiceguide.session.standin import EstimatedSpeech
from voiceguide.core.commands import Command, Vocabulary
from voiceguide.store import Store

__all__ = ["RunSettings", "IoPlan", "Runner", "plan_io"]

_MIC_LOST = "I can't hear you any more: the microphone is gone. I'll keep your place until it is back."
_MIC_BACK = "The microphone is back. Say resume to carry on."
_DEAF = "I can't hear you for a moment. I'll keep your place and listen again shortly."
_HEARING = "I can hear you again. Say resume to carry on."

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunSettings:
    """Everything `voiceguide run` was asked for (config file, then flags)."""

    input_device: str | int | None = None
    """Microphone name or index (None: the default one)."""
    output_device: str | int | None = None
    """Speaker name or index (None: the default one)."""
    input_device_explicit: bool = False
    """The input device was named: its absence is an error, not a reason to fall back."""
    output_device_explicit: bool = False
    """The output device was named: its absence is an error, not a reason to fall back."""
    input_wav: Path | None = None
    """Listen to this file instead of a microphone."""
    output_wav: Path | None = None
    """Write what would be played to this file instead of a speaker."""
    fast: bool = False
    """With --input-wav: as fast as possible instead of in real time."""
    console: bool = False
    """Type commands and read narration, whatever devices exist."""
    speed: float = 1.0
    """Run the real clock this many times faster (console dry runs and tests; sound needs 1)."""
    engine: str = "auto"
    """Recognizer: auto, vosk or pocketsphinx."""
    model: Path | None = None
    """A vosk model folder."""
    language: str | None = None
    """Recognition language (None: the pack's)."""
    tts: str = "pyttsx3"
    """Narration engine."""
    voice: str | None = None
    """Narration voice (None: the pack's, else one for its language)."""
    volume: float = 0.8
    """Starting speaker volume, 0 to 1."""
    cache_dir: Path | None = None
    """Render cache for narration (None: the user cache dir)."""
    json: bool = False
    """Transcript as one JSON object per line."""
    echo_cancel: bool = True
    """With a real speaker and mic: take the speaker's own sound out of the mic (AEC3), so commands are heard
    while it talks; without it they are heard only between sentences."""
    session: SessionSettings = field(default_factory=SessionSettings)
    """How the session paces itself, and where history goes."""


@dataclass(frozen=True)
class IoPlan:
    """Where commands come from and where sound goes, with the notices that explain any fallback."""

    listen: str
    """'mic', 'wav' or 'keyboard'."""
    speak: str
    """'device', 'wav' or 'print'."""
    notices: tuple[str, ...] = ()


class Listener(Protocol):
    """What the run loop needs from recognition: audio in, heard commands out, grammar narrowing."""

    def feed(self, samples: Any, start: float) -> list[Heard]: ...

    def set_commands(self, commands: set[Command]) -> None: ...


def plan_io(settings: RunSettings, device_probe: Callable[[str, str | int | None], str | None]) -> IoPlan:
    """Decide input and output; `device_probe(direction, spec)` returns None when usable, else why not.

    A device that was asked for by name and is missing is an error (raised as ValueError with the reason);
    a default device that is missing falls back to the console, said in one line.
    """
    notices: list[str] = []

    def device_or(direction: str, spec: str | int | None, explicit: bool, found: str, fallback: str,
                  notice: str) -> str:
        """`found` when the device is usable; else an error if it was named, or the console with a notice."""
        problem = device_probe(direction, spec)
        if problem is None:
            return found
        if explicit:
            raise ValueError(problem)
        notices.append(notice.format(problem=problem))
        return fallback

    if settings.console:
        return IoPlan("keyboard", "wav" if settings.output_wav else "print")
    if settings.input_wav is not None:
        listen = "wav"
    else:
        listen = device_or("input", settings.input_device, settings.input_device_explicit, "mic", "keyboard",
                           "No microphone ({problem}): type the commands instead.")
    if settings.output_wav is not None:
        speak = "wav"
    elif listen == "wav" and settings.fast:
        speak = "print"  # as fast as possible cannot be played aloud
    else:
        speak = device_or("output", settings.output_device, settings.output_device_explicit, "device", "print",
                          "No speaker ({problem}): the narration is printed instead.")
    return IoPlan(listen, speak, tuple(notices))


class Runner:
    """One guided session: builds the parts for an IoPlan, runs until the routine ends, and cleans up."""

    def __init__(
        self,
        loaded: LoadedPack,
        settings: RunSettings,
        plan: IoPlan,
        store: Store | None,
        vocabulary: Vocabulary,
        write: Callable[[Entry], None],
        listener_factory: Callable[[], Listener] | None = None,
    ) -> None:
        self.loaded = loaded
        self.settings = settings
        self.plan = plan
        self.store = store
        self.vocabulary = vocabulary
        self._write = TranscriptWriter(write)
        self._listener_factory = listener_factory
        self.clock: RealClock | VirtualClock = VirtualClock() if plan.listen == "wav" else RealClock(settings.speed)
        self._speaker: Any = None
        self._sink: Any = None
        self._estimate: EstimatedSpeech | None = None
        self._listener: Listener | None = None
        self._guard: Any = None
        self._guard_lock = threading.Lock()
        self._wanted: set[Command] | None = None
        self._source: Any = None
        self._canceller: Any = None
        self._ducker: Any = None
        self._stopping = threading.Event()
        self._typing: Callable[[], None] = lambda: None
        self.session = Session(loaded.pack, loaded.content_hash, self.clock, self._on_output,
                               settings.session, store, vocabulary)
        self.heard: list[Heard] = []

    # ---- output ---------------------------------------------------------------------------------
    def _on_output(self, event: Output) -> None:
        entry = transcript_entry(event, self.loaded.pack)
        if entry is not None:
            self._write(entry)
        if self._speaker is not None:
            self._speaker.handle(event)
        elif self._estimate is not None:
            self._estimate(event)
        if isinstance(event, StateChanged) and self._listener is not None:
            self._narrow()

    def _narrow(self) -> None:
        """On the clock's thread: the commands this state expects, applied by the listening thread before its next chunk."""
        with self._guard_lock:
            self._wanted = self.session.expected_commands()

    def _narrated(self, say: Say) -> None:
        """From the speaker (any thread): the sentence was heard to its end."""
        if isinstance(self.clock, VirtualClock):
            self.session.narration_done(say)  # the WAV sink reports inside advance_to, on our thread
        else:
            self.clock.post(lambda: self.session.narration_done(say))

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
            on_status=lambda status: self._device_status("speaker", status),
            settings=PlayerSettings(volume=self.settings.volume),
        )
        self._sink.subscribe(self._now_playing)
        texts = [sentence.text for sentence in pack_sentences(pack)]
        # on a real clock a sentence missing from the cache renders off the clock's thread (the beats go
        # on); on a virtual one synthesis takes no clock time, so it is made at once, deterministically
        post = self.clock.post if isinstance(self.clock, RealClock) else None
        self._speaker = Speaker(narrator, self._sink, self._narrated, sounds_dir=self.loaded.folder,
                                prefetch=texts, post=post)
        self._speaker.prefetch(1.0 / self.session.tempo)

    def _now_playing(self, notice: Any) -> None:
        """From the sink: tell the echo guard what the speaker says, on the microphone's timeline."""
        if notice.state != "started" or self._guard is None or self._source is None:
            return
        with self._guard_lock:
            self._guard.playing(notice.text, self._source.stream_time(notice.start),
                                self._source.stream_time(notice.end))

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
        if self._guard is not None:
            with self._guard_lock:
                if not self._guard.admit(heard):
                    self._write(Entry(self.clock.now(), "echo", heard.text, {"dropped": True}))
                    return
        command = heard.command
        if self._ducker is not None:
            self._ducker.release()  # the answer to a command is said at full level
        self.clock.post(lambda: self._command(command, "voice"))

    def _listen(self, samples: Any, start: float) -> None:
        """Feed one chunk to the recognizer, narrowing its commands first if the state changed."""
        assert self._listener is not None
        with self._guard_lock:
            wanted, self._wanted = self._wanted, None
        if wanted is not None:
            self._listener.set_commands(wanted)
        for heard in self._listener.feed(samples, start):
            self._heard(heard)

    def _open_canceller(self) -> None:
        """A real speaker and a real mic: the speaker's sound is taken out of the mic before recognition."""
        if not (self.settings.echo_cancel and self.plan.listen == "mic" and self._listener is not None
                and hasattr(self._sink, "tap")):
            return
        from voiceguide.audio.echo_cancel import EchoCanceller, EchoCancelUnavailable, TalkDucker

        try:
            self._canceller = EchoCanceller()
        except EchoCancelUnavailable as exc:  # said once; the echo guard still drops the speaker's own words
            _LOGGER.warning("%s", exc)
            self._write(Entry(self.clock.now(), "notice", str(exc)))
            return
        self._canceller.follow(self._sink.tap())
        if hasattr(self._sink, "duck"):
            self._ducker = TalkDucker(self._sink.duck)
        _LOGGER.info("echo cancellation on: the speaker's sound is taken out of the microphone")

    def _clean(self, chunk: Any) -> Any:
        """The chunk without the speaker's echo; if the canceller fails, raw audio from then on (logged)."""
        if self._canceller is None:
            return chunk
        try:
            cleaned = self._canceller.process_chunk(chunk)
            if self._guard is not None:
                with self._guard_lock:  # echo is then judged by what the canceller took out
                    self._guard.microphone(chunk.samples, chunk.start, cleaned.samples, cleaned.start)
            if self._ducker is not None:
                self._ducker.update(cleaned.samples, cleaned.start)  # the person talks: narration down
            return cleaned
        except Exception:  # noqa: BLE001 - hearing with echo beats hearing nothing
            _LOGGER.exception("echo cancellation failed; listening without it")
            self._canceller = self._ducker = None
            if hasattr(self._sink, "duck"):
                self._sink.duck(1.0)
            return chunk

    def _listen_mic(self) -> None:
        """Listen until stopped; a failure pauses the session, and listening restarts after a growing pause."""
        keep_listening(self._new_listener, self._read_mic, self._stopping, self._listening_failed,
                       back=lambda: self._tell("listening again", _HEARING))

    def _read_mic(self) -> None:
        assert self._source is not None
        while not self._stopping.is_set():
            chunk = self._source.read(timeout=0.2)
            if chunk is not None:
                chunk = self._clean(chunk)
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

    def _device_status(self, what: str, status: Any) -> None:
        """A device went away or came back (any thread): pause and say so; the person resumes by voice."""
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
                from voiceguide.speech.echo import EchoGuard

                self._source = open_source(
                    device=self.settings.input_device,
                    wav=self.settings.input_wav if self.plan.listen == "wav" else None,
                    fast=self.settings.fast,
                    on_status=lambda status: self._device_status("microphone", status),
                    **({"clock": self.clock.now} if self.plan.listen == "mic" else {}),  # the speaker's timeline
                )
                self._guard = EchoGuard(self.vocabulary)
                if self._listener_factory is not None:
                    self._listener = self._listener_factory()
                    self._listener.set_commands(self.session.expected_commands())
                    self._write(Entry(self.clock.now(), "listening", str(getattr(self._listener, "engine", ""))))
            self._open_output()
            self._open_canceller()
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
        self.clock.advance_to(t)
        if self._sink is not None and hasattr(self._sink, "advance_to"):
            self._sink.advance_to(t)
            self.clock.advance_to(t)

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
                if hasattr(self._sink, "drain"):
                    self._sink.close(drain=False)
                else:
                    self._sink.close()
            except Exception:  # closing must not hide the real outcome
                _LOGGER.exception("closing the speaker failed")
        if self._speaker is not None:
            self._speaker.narrator.close()
