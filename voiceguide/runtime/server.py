"""`voiceguide serve`: the boot-time loop — wait quietly for "start", guide one session, wait again.

While idle only the microphone and a recognizer narrowed to start, resume and help are open (no speaker,
no narrator), so an idle Pi does little more than read audio. "start" guides the default pack; "start"
followed by a pack's name ("start facial massage") guides that pack. "help" opens the speaker just long
enough to say what can be said, then closes it again. A missing microphone is waited for, never a reason
to exit: the service must be ready whenever the device turns up. Each session is a fresh `Runner`
(runner.py), which opens the devices itself; the idle microphone is closed while it runs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from voiceguide.core.commands import Command, Vocabulary, normalize, tokens
from voiceguide.packs.loader import LoadedPack
from voiceguide.packs.schema import Pack
from voiceguide.runtime.plan import IoPlan, RunSettings
from voiceguide.runtime.retry import FailureWindow
from voiceguide.runtime.runner import Runner
from voiceguide.session.transcript import Entry
from voiceguide.speech.base import Recognizer
from voiceguide.store import Store

__all__ = ["IDLE_COMMANDS", "Guide", "IdleGrammar", "ServeSettings", "Server", "spoken_names"]

IDLE_COMMANDS = frozenset({Command.START, Command.RESUME, Command.HELP})
"""What an idle speaker listens for: anything else is not worth waking up for."""

_LINKING_WORDS = frozenset("a an and at by for from in into of on or the to with your my".split())
"""Where a title's spoken name ends: "Facial massage for a glowing complexion" → "facial massage"."""

_ECHO_TAIL = 0.3
"""Seconds of microphone audio ignored after the hint, while the room still rings with it."""

_LOGGER = logging.getLogger(__name__)


def _device_errors() -> tuple[type[Exception], ...]:
    """What a missing or failing sound device raises: waited out, never a reason to exit."""
    from voiceguide.audio.devices import AudioUnavailable, DeviceError
    from voiceguide.audio.factory import NoDevice

    return (NoDevice, DeviceError, AudioUnavailable)


def spoken_names(pack: Pack) -> list[str]:
    """What a person may call a pack after "start": its title up to the first linking word, and its id."""
    lead: list[str] = []
    for word in tokens(pack.pack.title):
        if word in _LINKING_WORDS and lead:
            break
        lead.append(word)
    names = [" ".join(lead[:3]), " ".join(pack.pack.id.split("-"))]
    return [name for name in dict.fromkeys(normalize(n) for n in names) if name]


@dataclass(frozen=True)
class IdleGrammar:
    """The idle vocabulary: the default pack's phrases plus "start <name>" for every pack that can be guided."""

    vocabulary: Vocabulary
    packs: Mapping[str, LoadedPack]
    """A whole "start <name>" phrase → the pack it starts."""

    @classmethod
    def build(cls, base: Vocabulary, packs: Sequence[LoadedPack]) -> IdleGrammar:
        """A name two packs share would start either: it is left out (logged), each keeps its other names."""
        owners: dict[str, dict[str, LoadedPack]] = {}
        for loaded in packs:
            for name in spoken_names(loaded.pack):
                owners.setdefault(name, {})[loaded.pack.pack.id] = loaded
        chosen: dict[str, LoadedPack] = {}
        for name, by_id in owners.items():
            if len(by_id) > 1:
                _LOGGER.warning("'%s' names several packs (%s): it is not offered", name, ", ".join(sorted(by_id)))
                continue
            for start in base.phrases.get(Command.START, ()):
                chosen[f"{start} {name}"] = next(iter(by_id.values()))
        return cls(base.with_changes(add={Command.START: list(chosen)}), chosen)

    def pack_for(self, text: str) -> LoadedPack | None:
        """The pack a heard phrase names, or None for a plain "start"."""
        return self.packs.get(normalize(text))

    def names(self) -> list[str]:
        """One spoken name per pack, for the hint."""
        first: dict[str, str] = {}
        for phrase, loaded in self.packs.items():
            first.setdefault(loaded.pack.pack.id, phrase.split(" ", 1)[1])
        return list(first.values())


@dataclass(frozen=True)
class Guide:
    """One pack ready to guide: its run settings (engine and voice follow the pack), phrases and recognizer."""

    loaded: LoadedPack
    run: RunSettings
    vocabulary: Vocabulary
    listener_factory: Callable[[], Recognizer]


@dataclass(frozen=True)
class ServeSettings:
    """How the idle loop behaves; the sessions themselves follow each Guide's RunSettings."""

    retry_seconds: float = 5.0
    """How long to wait before looking for a missing microphone again."""
    once: bool = False
    """Exit after one session (tests, scripts)."""
    max_failures: int = 5
    """Unexpected idle failures within `failure_window` s that end the process (RepeatedFailure)."""
    failure_window: float = 600.0
    """Seconds over which `max_failures` are counted; a finished session forgets them."""


class Server:
    """Idle listening and sessions, one after the other, until `stop()`."""

    def __init__(
        self,
        default: Guide,
        settings: ServeSettings,
        store: Store | None,
        write: Callable[[Entry], None],
        idle: IdleGrammar,
        idle_listener: Callable[[], Recognizer],
        guide_for: Callable[[LoadedPack], Guide] | None = None,
        speaker_probe: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.default = default
        self.settings = settings
        self.store = store
        self.idle = idle
        self._write = write
        self._idle_listener = idle_listener
        self._guide_for = guide_for or (lambda loaded: default)
        self._speaker_probe = speaker_probe
        self._stopping = threading.Event()
        self._lock = threading.RLock()  # stop() may run in a signal handler on the locking thread
        self._runner: Runner | None = None
        self._hint_clip: Any = None
        self._t0 = time.monotonic()
        self._failures = FailureWindow(settings.max_failures, settings.failure_window)
        self.sessions = 0

    def _note(self, kind: str, text: str, **data: object) -> None:
        self._write(Entry(time.monotonic() - self._t0, kind, text, dict(data)))

    @property
    def devices(self) -> RunSettings:
        """Microphone, speaker and voice settings (the default pack's)."""
        return self.default.run

    # ---- idle -----------------------------------------------------------------------------------
    def _open_mic(self) -> Any | None:
        """The microphone, or None after a log line and a wait (None also when stopping)."""
        from voiceguide.audio.devices import AudioUnavailable, DeviceError
        from voiceguide.audio.factory import NoDevice, open_source

        try:
            return open_source(device=self.devices.input_device, on_status=self._mic_status)
        except (NoDevice, DeviceError, AudioUnavailable) as exc:
            _LOGGER.warning("no microphone (%s); trying again in %.0f s", exc, self.settings.retry_seconds)
            self._note("device", f"microphone missing: {exc}", waiting=True)
            self._stopping.wait(self.settings.retry_seconds)
            return None

    def _mic_status(self, status: Any) -> None:
        _LOGGER.warning("microphone %s: %s %s", status.device, status.state, status.message)
        self._note("device", f"microphone {status.state}: {status.message}")

    def hint(self) -> str:
        """What "help" says while idle."""
        names = self.idle.names()
        named = f", or start and a routine's name: {', '.join(names)}" if len(names) > 1 else ""
        return f"Say start to begin{named}. Say resume to carry on where you left off."

    def wait_for_start(self) -> tuple[Command, Guide] | None:
        """Listen until start or resume is heard (None: stopping); help is answered aloud.

        A microphone that fails while idle is closed, waited for and opened again, with a fresh recognizer
        (a new stream starts at 0 s).
        """
        while not self._stopping.is_set():
            source = self._open_mic()
            if source is None:
                continue
            try:
                listener = self._idle_listener()
                listener.set_commands(set(IDLE_COMMANDS))
                self._note("idle", "waiting for: " + ", ".join(sorted(c.value for c in IDLE_COMMANDS)),
                           packs=self.idle.names())
                while not self._stopping.is_set():
                    chunk = source.read(timeout=0.2)
                    if chunk is None:
                        continue
                    for heard in listener.feed(chunk.samples, chunk.start):
                        if heard.command in (Command.START, Command.RESUME):
                            named = self.idle.pack_for(heard.text) if heard.command is Command.START else None
                            self._note("heard", heard.text, command=heard.command.value,
                                       **({"pack": named.pack.pack.id} if named else {}))
                            return heard.command, self._guide_for(named) if named else self.default
                        if heard.command is Command.HELP:
                            self._note("heard", heard.text, command="help")
                            self._answer_help(source, listener)
                            break  # the recognizer was reset: what it had in hand is gone
            except _device_errors() as exc:  # the service must outlive a failing device: reopen it after a pause
                _LOGGER.warning("idle listening failed (%s); trying again in %.0f s", exc,
                                self.settings.retry_seconds)
                self._note("device", f"microphone failed: {exc}", waiting=True)
                self._stopping.wait(self.settings.retry_seconds)
            # a bug or a broken model: logged whole; if it keeps coming, exit (systemd restarts)
            except Exception as exc:
                _LOGGER.exception("idle listening failed; trying again in %.0f s", self.settings.retry_seconds)
                self._note("error", f"idle listening failed: {exc!r}", waiting=True)
                self._failures.failed("idle listening")
                self._stopping.wait(self.settings.retry_seconds)
            finally:
                source.close()
        return None

    def _answer_help(self, source: Any, listener: Recognizer) -> None:
        """Say the hint aloud, ignoring the microphone meanwhile (it would hear "start" in the hint)."""
        text = self.hint()
        self._note("hint", text, command="help")
        try:
            self._say_aloud(text, source)
        finally:
            quiet_until = time.monotonic() + _ECHO_TAIL
            while time.monotonic() < quiet_until:
                source.read(timeout=0.05)
            listener.reset()

    def _say_aloud(self, text: str, source: Any) -> None:
        """Open the speaker for one sentence and close it again: idle keeps no speaker open."""
        from voiceguide.audio.clip import AudioFileError
        from voiceguide.audio.devices import AudioUnavailable, DeviceError
        from voiceguide.audio.factory import NoDevice, open_sink
        from voiceguide.audio.player import PlayerSettings
        from voiceguide.voice.base import VoiceError
        from voiceguide.voice.narrator import Narrator, NarratorSettings

        problem = self._speaker_probe()
        if problem is not None:
            _LOGGER.warning("no speaker (%s): the hint is only in the log", problem)
            return
        run, pack = self.devices, self.default.loaded.pack
        try:
            if self._hint_clip is None or self._hint_clip.text != text:
                with Narrator(NarratorSettings(engine=run.tts, voice=run.voice or pack.voice.name,
                                               language=pack.pack.language, rate=pack.voice.rate,
                                               cache_dir=run.cache_dir)) as narrator:
                    self._hint_clip = narrator.clip(text, kind="hint")
            sink = open_sink(device=run.output_device, settings=PlayerSettings(volume=run.volume))
        except (AudioFileError, AudioUnavailable, DeviceError, NoDevice, VoiceError, OSError) as exc:
            _LOGGER.warning("could not say the hint: %s", exc)
            return
        try:
            item = sink.play(self._hint_clip)
            deadline = time.monotonic() + self._hint_clip.duration + 5.0
            while not item.done.is_set() and time.monotonic() < deadline and not self._stopping.is_set():
                source.read(timeout=0.1)  # keep the microphone's queue empty; what it hears now is us
        finally:
            sink.close()

    # ---- sessions -------------------------------------------------------------------------------
    def _plan(self) -> IoPlan:
        problem = self._speaker_probe()
        if problem is None:
            return IoPlan("mic", "device")
        _LOGGER.warning("no speaker (%s): the narration goes to the log", problem)
        return IoPlan("mic", "print", (f"No speaker ({problem}): the narration is printed instead.",))

    def run_session(self, command: Command = Command.START, guide: Guide | None = None) -> None:
        """One guided session through a fresh Runner; a saved place is offered by the session itself.

        "resume" said while idle already answers that offer, so it is passed on (the person need not say it
        twice); "start" leaves the offer to the person, so a saved place is never dropped unasked.
        """
        guide = guide or self.default
        plan = self._plan()
        for notice in plan.notices:
            self._note("device", notice)
        runner = Runner(guide.loaded, guide.run, plan, self.store, guide.vocabulary, self._write,
                        guide.listener_factory, offer_answer=command if command is Command.RESUME else None)
        with self._lock:
            if self._stopping.is_set():
                return
            self._runner = runner
        from voiceguide.audio.clip import AudioFileError
        from voiceguide.audio.devices import AudioUnavailable, DeviceError
        from voiceguide.audio.factory import NoDevice
        from voiceguide.voice.base import VoiceError

        self._note("session", guide.loaded.pack.pack.title, pack=guide.loaded.pack.pack.id)
        try:
            runner.run()
            self._failures.clear()
        except (AudioFileError, AudioUnavailable, DeviceError, NoDevice, VoiceError) as exc:
            # a device gone between idle and session, or a voice that will not load: wait and try again
            _LOGGER.warning("session ended early: %s", exc)
            self._note("device", f"session ended early: {exc}")
            self._stopping.wait(self.settings.retry_seconds)
        finally:
            with self._lock:
                self._runner = None
            self.sessions += 1

    def run(self) -> None:
        """Wait, guide, wait again — until `stop()` (or after one session with `once`)."""
        while not self._stopping.is_set():
            started = self.wait_for_start()
            if started is None:
                break
            self.run_session(*started)
            if self.settings.once:
                break
        self._note("idle", "stopped")

    def stop(self) -> None:
        """From any thread or a signal handler: end the wait or the current session; the checkpoint stays."""
        self._stopping.set()
        with self._lock:
            runner = self._runner
        if runner is not None:
            runner.stop()
