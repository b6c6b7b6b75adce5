"""A speaker that writes a WAV file on a clock's timeline (`--output-wav`, tests): what would have been heard, when."""

from __future__ import annotations

import threading
import wave
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from voiceguide.audio.clip import AudioFileError, to_int16
from voiceguide.audio.mixer import DEFAULT_VOLUME, Mixer
from voiceguide.audio.sink import MixerControls, Notifier
from voiceguide.core.events import NowPlaying

__all__ = ["WavSink"]


class WavSink(MixerControls):
    """A speaker that writes a WAV file on a clock's timeline: silence where nothing plays, sound where it does.

    With a virtual clock the run loop calls `advance_to(t)` as time moves; with `realtime=True` a
    thread follows the clock by itself. The file's second s is the clock's `origin + s`.
    """

    def __init__(
        self,
        path: str | Path,
        clock: Callable[[], float],
        *,
        sample_rate: int = 22050,
        volume: float = DEFAULT_VOLUME,
        realtime: bool = False,
        origin: float | None = None,
    ) -> None:
        self.path = Path(path)
        self.sample_rate = int(sample_rate)
        self._clock = clock
        self.origin = clock() if origin is None else origin
        self._mixer = Mixer(self.sample_rate, volume=volume)
        self._notifier = Notifier(threaded=False)
        self._lock = threading.RLock()
        self._written = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._wav = wave.open(str(self.path), "wb")
        except OSError as exc:
            raise AudioFileError(f"cannot write WAV file {self.path}: {exc}") from exc
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(self.sample_rate)
        self._closed = False
        self._pump: threading.Thread | None = None
        self._stop_pump = threading.Event()
        if realtime:
            self._pump = threading.Thread(target=self._follow, daemon=True, name="wav-sink")
            self._pump.start()

    @property
    def position(self) -> float:
        """Clock time up to which the file is written."""
        return self.origin + self._written / self.sample_rate

    def advance_to(self, t: float) -> None:
        """Write the timeline up to clock time `t`; the notices for that stretch are sent on return."""
        sent: list[NowPlaying] = []
        with self._lock:
            if not self._closed:
                target = int(round((t - self.origin) * self.sample_rate))
                block = max(1, self.sample_rate // 100)
                while self._written < target:
                    n = min(block, target - self._written)
                    samples, notices = self._mixer.render(n, self.position)
                    self._wav.writeframes(to_int16(samples).tobytes())
                    self._written += n
                    sent += notices
        for notice in sent:  # outside the lock: a listener may call back into the sink
            self._notifier.send(notice)

    def _follow(self) -> None:
        while not self._stop_pump.wait(0.01):
            self.advance_to(self._clock())

    def _catch_up(self) -> None:
        self.advance_to(self._clock())

    @contextmanager
    def _at_now(self) -> Iterator[None]:
        """Write the file up to the clock's present before a change, so the change lands at that time."""
        with self._lock:
            self._catch_up()
            yield

    def queued_seconds(self) -> float:
        """Clock seconds until the queue is played out (for a virtual clock to schedule `narration_done`)."""
        return self._mixer.queued_seconds()

    def drain(self, limit: float = 3600.0) -> float:
        """Let the clock-free tail play out: write until nothing is queued (at most `limit` s); the end time."""
        with self._lock:
            end = self.position + limit
            while self._mixer.busy and not self._mixer.paused and self.position < end:
                self.advance_to(self.position + 0.1)
            return self.position

    def close(self, drain: bool = False) -> None:
        """Write up to now (and, with `drain`, whatever is still queued), then finish the file."""
        if self._pump is not None:
            self._stop_pump.set()
            self._pump.join(timeout=2)
        with self._lock:
            if self._closed:
                return
            self._catch_up()
            if drain:
                self.drain()
            self._closed = True
            self._wav.close()

    def __enter__(self) -> WavSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
