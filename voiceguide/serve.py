"""`voiceguide serve`: the boot-time loop — wait quietly for "start", guide one session, wait again.

While idle only the microphone and a recognizer narrowed to start, resume and help are open (no speaker,
no narrator), so an idle Pi does little more than read audio. A missing microphone is waited for, never a
reason to exit: the service must be ready whenever the device turns up. Each session is a fresh `Runner`
(app.py), which opens the devices itself; the idle microphone is closed while it runs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from voiceguide.app import IoPlan, Listener, Runner, RunSettings
from voiceguide.packs.loader import LoadedPack
from voiceguide.session.simulate import Entry
from voiceguide.speech.commands import Command, Vocabulary
from voiceguide.store import Store

__all__ = ["IDLE_COMMANDS", "ServeSettings", "Server"]

IDLE_COMMANDS = frozenset({Command.START, Command.RESUME, Command.HELP})
"""What an idle speaker listens for: anything else is not worth waking up for."""

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServeSettings:
    """How the idle loop behaves; the sessions themselves follow `run`."""

    run: RunSettings
    """Devices, engine, voice and session settings for every session."""
    retry_seconds: float = 5.0
    """How long to wait before looking for a missing microphone again."""
    once: bool = False
    """Exit after one session (tests, scripts)."""


class Server:
    """Idle listening and sessions, one after the other, until `stop()`."""

    def __init__(
        self,
        loaded: LoadedPack,
        settings: ServeSettings,
        store: Store | None,
        vocabulary: Vocabulary,
        write: Callable[[Entry], None],
        listener_factory: Callable[[], Listener],
        speaker_probe: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.loaded = loaded
        self.settings = settings
        self.store = store
        self.vocabulary = vocabulary
        self._write = write
        self._listener_factory = listener_factory
        self._speaker_probe = speaker_probe
        self._stopping = threading.Event()
        self._lock = threading.RLock()  # stop() may run in a signal handler on the locking thread
        self._runner: Runner | None = None
        self._t0 = time.monotonic()
        self.sessions = 0

    def _note(self, kind: str, text: str, **data: object) -> None:
        self._write(Entry(time.monotonic() - self._t0, kind, text, dict(data)))

    # ---- idle -----------------------------------------------------------------------------------
    def _open_mic(self) -> Any | None:
        """The microphone, or None after a log line and a wait (None also when stopping)."""
        from voiceguide.audio.devices import AudioUnavailable, DeviceError
        from voiceguide.audio.factory import NoDevice, open_source

        try:
            return open_source(device=self.settings.run.input_device, on_status=self._mic_status)
        except (NoDevice, DeviceError, AudioUnavailable) as exc:
            _LOGGER.warning("no microphone (%s); trying again in %.0f s", exc, self.settings.retry_seconds)
            self._note("device", f"microphone missing: {exc}", waiting=True)
            self._stopping.wait(self.settings.retry_seconds)
            return None

    def _mic_status(self, status: Any) -> None:
        _LOGGER.warning("microphone %s: %s %s", status.device, status.state, status.message)
        self._note("device", f"microphone {status.state}: {status.message}")

    def wait_for_start(self) -> Command | None:
        """Listen until start or resume is heard (None: stopping); help is answered in the log.

        A microphone that fails while idle is closed, waited for and opened again, with a fresh recognizer
        (a new stream starts at 0 s).
        """
        while not self._stopping.is_set():
            source = self._open_mic()
            if source is None:
                continue
            try:
                listener = self._listener_factory()
                listener.set_commands(set(IDLE_COMMANDS))
                self._note("idle", "waiting for: " + ", ".join(sorted(c.value for c in IDLE_COMMANDS)))
                while not self._stopping.is_set():
                    chunk = source.read(timeout=0.2)
                    if chunk is None:
                        continue
                    for heard in listener.feed(chunk.samples, chunk.start):
                        if heard.command in (Command.START, Command.RESUME):
                            self._note("heard", heard.text, command=heard.command.value)
                            return heard.command
                        if heard.command is Command.HELP:
                            self._note("hint", "say start to begin, or resume to carry on where you left off",
                                       command="help")
            except Exception as exc:  # the service must outlive a failing device: reopen it after a pause
                _LOGGER.warning("idle listening failed (%s); trying again in %.0f s", exc,
                                self.settings.retry_seconds)
                self._note("device", f"microphone failed: {exc}", waiting=True)
                self._stopping.wait(self.settings.retry_seconds)
            finally:
                source.close()
        return None

    # ---- sessions -------------------------------------------------------------------------------
    def _plan(self) -> IoPlan:
        problem = self._speaker_probe()
        if problem is None:
            return IoPlan("mic", "device")
        _LOGGER.warning("no speaker (%s): the narration goes to the log", problem)
        return IoPlan("mic", "print", (f"No speaker ({problem}): the narration is printed instead.",))

    def run_session(self, command: Command = Command.START) -> None:
        """One guided session through a fresh Runner; a saved place is offered by the session itself.

        "resume" said while idle already answers that offer, so it is passed on (the person need not say it
        twice); "start" leaves the offer to the person, so a saved place is never dropped unasked.
        """
        plan = self._plan()
        for notice in plan.notices:
            self._note("device", notice)
        answer = [command] if command is Command.RESUME else []

        def write(entry: Entry) -> None:
            self._write(entry)
            if answer and entry.type == "state" and entry.data.get("state") == "offer":
                runner.feed_text(answer.pop().value, source="voice")

        runner = Runner(self.loaded, self.settings.run, plan, self.store, self.vocabulary, write,
                        self._listener_factory)
        with self._lock:
            if self._stopping.is_set():
                return
            self._runner = runner
        from voiceguide.audio.clip import AudioFileError
        from voiceguide.audio.devices import AudioUnavailable, DeviceError
        from voiceguide.audio.factory import NoDevice
        from voiceguide.voice.narrator import VoiceError

        try:
            runner.run()
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
            command = self.wait_for_start()
            if command is None:
                break
            self.run_session(command)
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
