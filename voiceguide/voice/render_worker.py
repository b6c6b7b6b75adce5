"""Synthesis off the session's thread: a sentence missing from the render cache must not hold up the beats."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from voiceguide.audio.clip import AudioFileError, Clip
from voiceguide.core.events import Say
from voiceguide.voice.base import VoiceError
from voiceguide.voice.narrator import Narrator

__all__ = ["Rendering", "RenderWorker"]

_LOGGER = logging.getLogger(__name__)

Post = Callable[[Callable[[], None]], object]
"""Hands a callable to the session's thread (a clock's `post`)."""


@dataclass(eq=False)
class Rendering:
    """One sentence on its way to the speaker: `clip` once made, or `failed` (with why, logged)."""

    say: Say
    generation: int
    clip: Clip | None = None
    failed: bool = False
    ready: threading.Event = field(default_factory=threading.Event)


class RenderWorker:
    """Renders sentences one at a time on a daemon thread, in order; each result is posted back when made."""

    def __init__(self, narrator: Narrator, post: Post, deliver: Callable[[Rendering], None]) -> None:
        self._narrator = narrator
        self._post = post
        self._deliver = deliver
        self._jobs: queue.SimpleQueue[Rendering | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def submit(self, job: Rendering) -> None:
        """Render `job.say` off this thread; `deliver(job)` then runs on the session's thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="render", daemon=True)
            self._thread.start()
        self._jobs.put(job)

    def close(self) -> None:
        """Let the sentence being made finish, then stop: the engine may be released only after that."""
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            say = job.say
            try:
                job.clip = self._narrator.clip(say.text, say.rate_scale, kind=say.kind)
            except (VoiceError, AudioFileError, OSError) as exc:
                _LOGGER.error("could not synthesize %r: %s", say.text, exc)
                job.failed = True
            except Exception:  # noqa: BLE001 - the worker must outlive one bad sentence
                _LOGGER.exception("synthesis of %r failed", say.text)
                job.failed = True
            job.ready.set()
            self._post(partial(self._deliver, job))
