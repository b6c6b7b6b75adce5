"""The sound that goes to the speaker, block by block: queued clips, overlays, stop, pause, volume, notices.

Pure and device-free, so the device Player (pulled by the PortAudio callback) and the WAV sink (pulled by
a clock) produce the very same samples and the very same "now playing" notices.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque

import numpy as np

from voiceguide.audio.clip import Clip
from voiceguide.core.events import NowPlaying

__all__ = ["DEFAULT_VOLUME", "Mixer", "Playback", "VOLUME_STEPS"]

DEFAULT_VOLUME = 0.8
"""The speaker's volume (0 to 1) unless the config or a flag says otherwise."""

VOLUME_STEPS = 10
"""Volume goes from 0 to 1 in this many steps (louder / quieter move one step)."""


class Playback:
    """A clip handed to a sink: wait on `done`; `interrupted` says whether it was cut short or dropped."""

    _ids = itertools.count(1)

    def __init__(self, clip: Clip, overlay: bool) -> None:
        self.id = next(Playback._ids)
        self.clip = clip
        self.overlay = overlay
        self.pos = 0
        self.started = False
        self.started_at = 0.0
        self.interrupted = False
        self.done = threading.Event()

    @property
    def remaining(self) -> int:
        """Samples not played yet."""
        return len(self.clip.samples) - self.pos

    def _begin(self, start: float, rate: int) -> NowPlaying:
        self.started = True
        self.started_at = start
        return NowPlaying(self.clip.text, self.clip.kind, start, start + self.remaining / rate, "started", self.id)

    def _end(self, state: str, end: float) -> NowPlaying:
        return NowPlaying(self.clip.text, self.clip.kind, self.started_at, end, state, self.id)

    def __repr__(self) -> str:
        return f"Playback({self.id}, {self.clip.kind}, {self.clip.text!r}, pos={self.pos}/{len(self.clip.samples)})"


class Mixer:
    """Everything queued for the speaker; `render(n, t0)` gives the next n samples and the notices they cause."""

    def __init__(self, sample_rate: int, volume: float = DEFAULT_VOLUME, fade_seconds: float = 0.005) -> None:
        self.sample_rate = int(sample_rate)
        self._lock = threading.Lock()
        self._queue: deque[Playback] = deque()
        self._overlays: list[Playback] = []
        self._volume = float(np.clip(volume, 0.0, 1.0))
        self._gain = self._volume
        self._fade = max(1, int(fade_seconds * sample_rate))
        self._stop_requested = False
        self._cutting: list[Playback] = []
        """What was sounding when `stop` was asked: faded out by the next block."""
        self._pause_requested = False
        self._paused = False
        self._fade_in = False

    # ---- requests (any thread) -------------------------------------------------------------------
    def add(self, clip: Clip, overlay: bool = False) -> Playback:
        """Queue a clip (already at this mixer's rate); an overlay plays at once, over the queue."""
        if clip.sample_rate != self.sample_rate:
            raise ValueError(f"clip at {clip.sample_rate} Hz given to a {self.sample_rate} Hz mixer")
        item = Playback(clip, overlay)
        with self._lock:
            if len(clip.samples) == 0:
                item.done.set()
            elif overlay:
                self._overlays.append(item)
            else:
                self._queue.append(item)
        return item

    def cancel(self, item: Playback) -> None:
        """Drop one clip: cut short with a 5 ms fade if it is sounding, else taken off the queue."""
        with self._lock:
            if item.done.is_set():
                return
            item.interrupted = True
            if item.started:
                samples = item.clip.samples
                f = min(self._fade, len(samples) - item.pos)
                tail = samples[item.pos : item.pos + f] * np.linspace(1.0, 0.0, f, dtype=np.float32)
                cut = np.concatenate([samples[: item.pos], tail])
                item.clip = Clip(cut, item.clip.sample_rate, item.clip.text, item.clip.kind)
                return
            for lane in (self._queue, self._overlays):
                if item in lane:
                    lane.remove(item)
            item.done.set()

    def stop(self) -> None:
        """Silence now (a 5 ms fade) and drop everything queued so far; clips added afterwards play."""
        with self._lock:
            self._stop_requested = True
            sounding = self._active()
            for item in [*self._queue, *self._overlays]:
                item.interrupted = True
                if item not in sounding:
                    item.done.set()
            self._cutting += sounding
            self._queue.clear()
            self._overlays.clear()

    def pause(self) -> None:
        """Silence now, keeping the place in what was playing."""
        with self._lock:
            if not self._paused:
                self._pause_requested = True

    def resume(self) -> None:
        """Continue what was paused, where it was."""
        with self._lock:
            if self._pause_requested:
                self._pause_requested = False
            elif self._paused:
                self._paused = False
                self._fade_in = True

    @property
    def paused(self) -> bool:
        """Whether the mixer is (or is about to be) paused."""
        return self._paused or self._pause_requested

    @property
    def volume(self) -> float:
        """Output gain, 0 to 1."""
        return self._volume

    @volume.setter
    def volume(self, value: float) -> None:
        self._volume = float(np.clip(value, 0.0, 1.0))

    def louder(self) -> float:
        """One volume step up; returns the new volume."""
        self.volume = round(self._volume + 1.0 / VOLUME_STEPS, 3)
        return self._volume

    def quieter(self) -> float:
        """One volume step down (never to silence: the person must still hear it); returns the new volume."""
        self.volume = max(1.0 / VOLUME_STEPS, round(self._volume - 1.0 / VOLUME_STEPS, 3))
        return self._volume

    @property
    def busy(self) -> bool:
        """Whether anything is playing or queued (paused counts as busy)."""
        return bool(self._queue or self._overlays or self._cutting)

    def queued_seconds(self) -> float:
        """Seconds until the main queue runs dry (ignoring a pause)."""
        with self._lock:
            return sum(p.remaining for p in self._queue) / self.sample_rate

    # ---- the audio side ------------------------------------------------------------------------
    def render(self, n: int, t0: float) -> tuple[np.ndarray, list[NowPlaying]]:
        """The next `n` samples, whose first sample is heard at clock time `t0`, and the notices they cause."""
        out = np.zeros(n, dtype=np.float32)
        notices: list[NowPlaying] = []
        with self._lock:
            if self._stop_requested or self._pause_requested:
                self._fade_out(out, notices, t0)
            elif not self._paused:
                self._play_queue(out, notices, t0)
                self._play_overlays(out, notices, t0)
                if self._fade_in:
                    f = min(n, self._fade)
                    out[:f] *= np.linspace(0.0, 1.0, f, dtype=np.float32)
                    self._fade_in = False
                target = self._volume
                if target != self._gain:
                    out *= np.linspace(self._gain, target, n, dtype=np.float32)
                    self._gain = target
                else:
                    out *= target
        np.clip(out, -1.0, 1.0, out=out)
        return out, notices

    def _active(self) -> list[Playback]:
        head = [self._queue[0]] if self._queue and self._queue[0].started else []
        return head + [p for p in self._overlays if p.started]

    def _fade_out(self, out: np.ndarray, notices: list[NowPlaying], t0: float) -> None:
        """Play the first few ms of what is sounding with a falling ramp, then silence (stop or pause)."""
        f = min(len(out), self._fade)
        end = t0 + f / self.sample_rate
        stopping = self._stop_requested
        for item in self._cutting if stopping else self._active():
            k = min(f, item.remaining)
            out[:k] += item.clip.samples[item.pos : item.pos + k]
            item.pos += k
            notices.append(item._end("interrupted", end))
            item.started = False
            if stopping:
                item.done.set()
        out[:f] *= np.linspace(1.0, 0.0, f, dtype=np.float32) * self._gain
        if stopping:
            self._cutting.clear()
            self._paused = False
        else:
            self._paused = True
        self._stop_requested = self._pause_requested = False

    def _play_queue(self, out: np.ndarray, notices: list[NowPlaying], t0: float) -> None:
        n = len(out)
        rate = self.sample_rate
        off = 0
        while off < n and self._queue:
            item = self._queue[0]
            if not item.started:
                notices.append(item._begin(t0 + off / rate, rate))
            k = min(n - off, item.remaining)
            out[off : off + k] += item.clip.samples[item.pos : item.pos + k]
            item.pos += k
            off += k
            if item.remaining == 0:
                end = t0 + off / rate
                notices.append(item._end("interrupted" if item.interrupted else "finished", end))
                self._queue.popleft()
                item.done.set()

    def _play_overlays(self, out: np.ndarray, notices: list[NowPlaying], t0: float) -> None:
        n = len(out)
        rate = self.sample_rate
        for item in list(self._overlays):
            if not item.started:
                notices.append(item._begin(t0, rate))
            k = min(n, item.remaining)
            out[:k] += item.clip.samples[item.pos : item.pos + k]
            item.pos += k
            if item.remaining == 0:
                end = t0 + k / rate
                notices.append(item._end("interrupted" if item.interrupted else "finished", end))
                self._overlays.remove(item)
                item.done.set()
