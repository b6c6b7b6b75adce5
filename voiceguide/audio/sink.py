"""What every speaker offers the session (`AudioSink`), and the controls both sinks share over one `Mixer`.

Notices go to subscribers from an ordinary thread, never from the audio callback.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Protocol, runtime_checkable

from voiceguide.audio.clip import Clip
from voiceguide.audio.mixer import Mixer, Playback
from voiceguide.core.events import NowPlaying

__all__ = ["AudioSink", "Listener", "MixerControls", "Notifier"]

_LOGGER = logging.getLogger(__name__)

Listener = Callable[[NowPlaying], None]


@runtime_checkable
class AudioSink(Protocol):
    """Where sound goes: the speaker or a WAV file. Everything the session asks of audio output."""

    sample_rate: int

    def play(self, clip: Clip, overlay: bool = False) -> Playback:
        """Queue a clip (any rate); an overlay (a tick) plays at once over narration."""
        ...

    def cancel(self, item: Playback) -> None:
        """Drop one clip (cut with a short fade if it is sounding)."""
        ...

    def stop(self) -> None:
        """Silence at once and drop everything queued."""
        ...

    def pause(self) -> None:
        """Silence at once, keeping the place."""
        ...

    def resume(self) -> None:
        """Continue where `pause` left off."""
        ...

    def louder(self) -> float:
        """One volume step up; the new volume."""
        ...

    def quieter(self) -> float:
        """One volume step down; the new volume."""
        ...

    @property
    def busy(self) -> bool:
        """Whether anything plays or waits to."""
        ...

    def subscribe(self, listener: Listener) -> None:
        """Be told what plays when (the echo guard, `narration_done`)."""
        ...

    def close(self) -> None:
        """Release the device or finish the file."""
        ...


class Notifier:
    """Hands notices to listeners; `send` may be called from the audio callback (it never blocks)."""

    def __init__(self, threaded: bool) -> None:
        self._listeners: list[Listener] = []
        self._queue: queue.SimpleQueue[NowPlaying | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        if threaded:
            self._thread = threading.Thread(target=self._run, daemon=True, name="now-playing")
            self._thread.start()

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def send(self, notice: NowPlaying) -> None:
        if self._thread is None:
            self._deliver(notice)
        else:
            self._queue.put(notice)

    def _deliver(self, notice: NowPlaying) -> None:
        for listener in list(self._listeners):
            try:
                listener(notice)
            except Exception:  # a listener's bug must not silence the speaker
                _LOGGER.exception("now-playing listener failed")

    def _run(self) -> None:
        while (notice := self._queue.get()) is not None:
            self._deliver(notice)

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=2)


class MixerControls:
    """Stop, pause, volume and "now playing" once for both sinks; `_at_now` brings a sink up to the present first."""

    _mixer: Mixer
    _notifier: Notifier
    sample_rate: int

    def _at_now(self) -> AbstractContextManager[object]:
        """Held around every change to the mixer (a device sink is always at the present)."""
        return nullcontext()

    def play(self, clip: Clip, overlay: bool = False) -> Playback:
        """Queue a clip, resampled to the sink's rate here (never in an audio callback)."""
        with self._at_now():
            return self._mixer.add(clip.at_rate(self.sample_rate), overlay)

    def cancel(self, item: Playback) -> None:
        """Drop one clip (a count overtaken by the next beat)."""
        with self._at_now():
            self._mixer.cancel(item)

    def stop(self) -> None:
        """Silence from now on (within one block plus the device buffer), and drop the queue."""
        with self._at_now():
            self._mixer.stop()

    def pause(self) -> None:
        """Silence from now on, keeping the place."""
        with self._at_now():
            self._mixer.pause()

    def resume(self) -> None:
        """Continue where `pause` left off."""
        with self._at_now():
            self._mixer.resume()

    @property
    def paused(self) -> bool:
        """Whether paused."""
        return self._mixer.paused

    @property
    def volume(self) -> float:
        """Output gain, 0 to 1."""
        return self._mixer.volume

    @volume.setter
    def volume(self, value: float) -> None:
        with self._at_now():
            self._mixer.volume = value

    def louder(self) -> float:
        """One volume step up."""
        with self._at_now():
            return self._mixer.louder()

    def quieter(self) -> float:
        """One volume step down."""
        with self._at_now():
            return self._mixer.quieter()

    @property
    def busy(self) -> bool:
        """Whether anything plays or waits to."""
        return self._mixer.busy

    def subscribe(self, listener: Listener) -> None:
        """Be told what plays when, in this sink's clock."""
        self._notifier.subscribe(listener)
