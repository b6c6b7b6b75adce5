"""Narration: sentences become cached WAV clips, rendered ahead so a command is answered from cache.

A `Voice` engine only writes WAV files; it never owns the speaker (the Player does). Rendered sentences
are kept on disk keyed by (engine, voice, text, rate) (cache.py), so a sentence is synthesized once per voice
and speed, and a changed sentence re-renders only itself.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from voiceguide.audio.clip import Clip, read_wav
from voiceguide.voice.base import Voice, VoiceInfo, normalize_text, pick_voice
from voiceguide.voice.cache import RenderCache, default_cache_dir
from voiceguide.voice.factory import make_voice, resolve_engine

__all__ = ["Narrator", "NarratorSettings"]

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class NarratorSettings:
    """How narration sounds and where its renderings are kept."""

    engine: str = "pyttsx3"
    """Speech engine (see `ENGINES`), or "auto" (see `resolve_engine`)."""
    voice: str | None = None
    """Voice id or name; None: the best voice for `language`, else the engine default."""
    language: str | None = None
    """BCP-47 language of the narration (a pack's language), used when no voice is named."""
    rate: int = 150
    """Words per minute at tempo 1.0 (a pack's `[voice] rate`)."""
    cache_dir: Path | None = None
    """Where rendered sentences are kept; None: the user cache dir."""
    min_rate: int = 80
    """Slowest rate that tempo changes may reach."""
    max_rate: int = 450
    """Fastest rate that tempo changes may reach."""
    memory_clips: int = 128
    """Sentences kept decoded in memory for instant replay."""
    cache_max_bytes: int | None = 512 * 2**20
    """On close, the least recently used renderings go until the cache fits (None: never prune)."""


@dataclass
class _Inflight:
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class Narrator:
    """Turns sentences into clips: from memory, from the disk cache, or rendered now; renders ahead on request."""

    def __init__(self, settings: NarratorSettings = NarratorSettings(), voice: Voice | None = None) -> None:
        self.settings = settings
        self._voice = voice if voice is not None else make_voice(
            resolve_engine(settings.engine, settings.language, settings.voice), settings.voice)
        self.cache = RenderCache(settings.cache_dir or default_cache_dir())
        self._voice_id: str | None = None
        self._voice_resolved = False
        self._lock = threading.Lock()
        self._inflight: dict[str, _Inflight] = {}
        self._memory: OrderedDict[str, Clip] = OrderedDict()
        self._ahead: queue.Queue[tuple[str, int] | None] = queue.Queue()
        self._ahead_thread: threading.Thread | None = None
        self._markers: list[threading.Event] = []
        self._closed = False
        self.renders = 0
        """Sentences synthesized by this narrator (cache misses)."""
        self.hits = 0
        """Sentences answered from memory or disk."""

    @property
    def engine(self) -> str:
        """The engine's name (part of every cache key)."""
        return self._voice.engine

    @property
    def voice_id(self) -> str | None:
        """The voice in use (None: the engine default); raises `VoiceError` for an unknown voice."""
        if not self._voice_resolved:
            if self.settings.voice or self.settings.language:
                found = pick_voice(self._voice.voices(), self.settings.voice, self.settings.language)
                self._voice_id = found.id if found else None
            self._voice_resolved = True
        return self._voice_id

    def voices(self) -> list[VoiceInfo]:
        """What the engine offers."""
        return self._voice.voices()

    def rate_for(self, rate_scale: float = 1.0) -> int:
        """Words per minute for a tempo's rate multiplier, within bounds."""
        rate = round(self.settings.rate * rate_scale)
        return max(self.settings.min_rate, min(self.settings.max_rate, rate))

    def key(self, text: str, rate_scale: float = 1.0) -> str:
        """The cache key of a sentence at a rate multiplier."""
        return RenderCache.key(self.engine, self.voice_id, text, self.rate_for(rate_scale))

    def is_cached(self, text: str, rate_scale: float = 1.0) -> bool:
        """Whether a sentence is ready without synthesis."""
        return self.cache.get(self.engine, self.key(text, rate_scale)) is not None

    def render(self, text: str, rate_scale: float = 1.0) -> Path:
        """The WAV of a sentence: from the cache, or synthesized now (once, even if asked from two threads)."""
        return self._render_at(normalize_text(text), self.rate_for(rate_scale))

    def _render_at(self, text: str, rate: int) -> Path:
        if not text:
            raise ValueError("nothing to say: empty text")
        key = RenderCache.key(self.engine, self.voice_id, text, rate)
        while True:
            cached = self.cache.get(self.engine, key)
            if cached is not None:
                self.cache.touch(cached)
                return cached
            with self._lock:
                waiting = self._inflight.get(key)
                if waiting is None:
                    mine = self._inflight[key] = _Inflight()
            if waiting is not None:
                waiting.done.wait()
                if waiting.error is not None:
                    raise waiting.error
                continue
            try:
                temp = self.cache.temp_path(self.engine, key)
                try:
                    self._voice.render(text, temp, voice=self.voice_id, rate=rate)
                    path = self.cache.commit(self.engine, key, temp)
                finally:
                    temp.unlink(missing_ok=True)
                self.renders += 1
                _LOGGER.debug("rendered %r at %d wpm → %s", text, rate, path.name)
                return path
            except BaseException as exc:
                mine.error = exc
                raise
            finally:
                with self._lock:
                    del self._inflight[key]
                mine.done.set()

    def clip(self, text: str, rate_scale: float = 1.0, kind: str = "say") -> Clip:
        """A sentence ready to play; blank text is an empty clip."""
        text = normalize_text(text)
        if not text:
            return Clip(np.zeros(0, dtype=np.float32), 22050, "", kind)
        key = self.key(text, rate_scale)
        with self._lock:
            clip = self._memory.get(key)
            if clip is not None:
                self._memory.move_to_end(key)
        if clip is None:
            was_cached = self.cache.get(self.engine, key) is not None
            clip = read_wav(self.render(text, rate_scale), text=text, kind=kind)
            if was_cached:
                self.hits += 1
            with self._lock:
                self._memory[key] = clip
                while len(self._memory) > self.settings.memory_clips:
                    self._memory.popitem(last=False)
        else:
            self.hits += 1
        return clip if clip.kind == kind else Clip(clip.samples, clip.sample_rate, clip.text, kind)

    def prefetch(self, texts: Iterable[str], rate_scale: float = 1.0) -> int:
        """Render these sentences in the background (the ones not cached yet); returns how many were queued."""
        queued = 0
        for text in texts:
            text = normalize_text(text)
            if text and not self.is_cached(text, rate_scale):
                self._ahead.put((text, self.rate_for(rate_scale)))
                queued += 1
        if queued:
            self._start_ahead()
        return queued

    def wait_prefetched(self, timeout: float | None = None) -> bool:
        """Block until the render-ahead queue is empty; False on timeout."""
        done = threading.Event()
        self._ahead.put(None)  # a marker: when the worker reaches it, everything before is rendered
        self._markers.append(done)
        self._start_ahead()
        return done.wait(timeout)

    def _start_ahead(self) -> None:
        with self._lock:
            if self._ahead_thread is None or not self._ahead_thread.is_alive():
                self._ahead_thread = threading.Thread(target=self._render_ahead, daemon=True, name="render-ahead")
                self._ahead_thread.start()

    def _render_ahead(self) -> None:
        while not self._closed:
            item = self._ahead.get()
            if item is None:
                if self._markers:
                    self._markers.pop(0).set()
                continue
            text, rate = item
            try:
                self._render_at(text, rate)
            except Exception as exc:  # noqa: BLE001 - the sentence is rendered again when it is needed
                _LOGGER.warning("could not render ahead %r: %s", text, exc)

    def close(self) -> None:
        """Stop rendering ahead and release the engine."""
        self._closed = True
        self._ahead.put(None)
        if self._ahead_thread is not None:
            self._ahead_thread.join(timeout=5)
        for marker in self._markers:
            marker.set()
        self._voice.close()
        if self.settings.cache_max_bytes is not None:
            self.cache.prune(self.settings.cache_max_bytes)

    def __enter__(self) -> Narrator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
