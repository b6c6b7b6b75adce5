"""Full duplex has one owner: hearing a person while the speaker talks.

Three parts work together on one timeline, the microphone's: the echo canceller takes the speaker's own sound
out of the microphone (AEC3), the ducker lowers the narration while the person talks, and the echo guard drops
words that the speaker itself said (told by the speaker's NowPlaying notices, judged by how much the canceller
removed). The listening thread calls `clean` then `admit`; the sink's notices come in through `now_playing`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from voiceguide.core.commands import Vocabulary
from voiceguide.core.events import Heard, NowPlaying
from voiceguide.speech.echo import EchoGuard

__all__ = ["Duplex"]

_LOGGER = logging.getLogger(__name__)


class Duplex:
    """The echo guard always; the canceller and the ducker once `cancel_echo` has a real speaker to follow."""

    def __init__(self, vocabulary: Vocabulary, stream_time: Callable[[float], float]) -> None:
        self.guard = EchoGuard(vocabulary)
        self._stream_time = stream_time
        """Clock time → the microphone's stream time (where the guard compares)."""
        self._lock = threading.Lock()
        self._canceller: Any = None
        self._ducker: Any = None
        self._duck: Callable[[float], None] | None = None

    def cancel_echo(self, sink: Any) -> str | None:
        """Follow the sink's sound and take it out of the microphone; the reason when that cannot be (said once)."""
        from voiceguide.audio.echo_cancel import EchoCanceller, EchoCancelUnavailable, TalkDucker

        try:
            self._canceller = EchoCanceller()
        except EchoCancelUnavailable as exc:  # the echo guard still drops the speaker's own words
            _LOGGER.warning("%s", exc)
            return str(exc)
        self._canceller.follow(sink.tap())
        self._duck = sink.duck
        self._ducker = TalkDucker(sink.duck)
        _LOGGER.info("echo cancellation on: the speaker's sound is taken out of the microphone")
        return None

    def now_playing(self, notice: NowPlaying) -> None:
        """From the sink (any thread): what the speaker says, moved onto the microphone's timeline."""
        if notice.state != "started":
            return
        with self._lock:
            self.guard.playing(notice.text, self._stream_time(notice.start), self._stream_time(notice.end))

    def clean(self, chunk: Any) -> Any:
        """The chunk without the speaker's echo; if the canceller fails, raw audio from then on (logged)."""
        if self._canceller is None:
            return chunk
        try:
            cleaned = self._canceller.process_chunk(chunk)
            with self._lock:  # echo is then judged by what the canceller took out
                self.guard.microphone(chunk.samples, chunk.start, cleaned.samples, cleaned.start)
            if self._ducker is not None:
                self._ducker.update(cleaned.samples, cleaned.start)  # the person talks: narration down
            return cleaned
        except Exception:  # noqa: BLE001 - hearing with echo beats hearing nothing
            _LOGGER.exception("echo cancellation failed; listening without it")
            self._canceller = self._ducker = None
            if self._duck is not None:
                self._duck(1.0)
            return chunk

    def admit(self, heard: Heard) -> bool:
        """Whether a heard command is the person's (not the speaker's own voice); its answer is said at full level."""
        with self._lock:
            if not self.guard.admit(heard):
                return False
        if self._ducker is not None:
            self._ducker.release()
        return True
