"""Narration: sentences become cached WAV clips, rendered ahead so a command is answered from cache.

A `Voice` engine only writes WAV files; it never owns the speaker (the Player does). Rendered sentences
are kept on disk keyed by (engine, voice, text, rate), so a sentence is synthesized once per voice and
speed, and a changed sentence re-renders only itself.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import os
import queue
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from voiceguide.audio.clip import Clip, read_wav

__all__ = [
    "CACHE_VERSION",
    "ENGINES",
    "Narrator",
    "NarratorSettings",
    "RenderCache",
    "Voice",
    "VoiceError",
    "VoiceInfo",
    "default_cache_dir",
    "make_voice",
    "normalize_text",
    "pick_voice",
    "resolve_engine",
]

_LOGGER = logging.getLogger(__name__)

CACHE_VERSION = 1
"""Part of every cache key: bump it when the rendering itself changes."""

ENGINES = ("pyttsx3", "piper")
"""Engines behind the `Voice` protocol: pyttsx3 always, Piper with the `voiceguide[neural]` extra ("auto" picks)."""


class VoiceError(Exception):
    """The speech engine cannot do what was asked (missing, hung twice, unknown voice)."""


@dataclass(frozen=True)
class VoiceInfo:
    """One voice an engine offers."""

    engine: str
    id: str
    """What to pass as `voice` (e.g. 'gmw/en-us' for espeak-ng)."""
    name: str
    languages: tuple[str, ...] = ()
    gender: str | None = None
    default: bool = False
    """The engine's own default voice."""


@runtime_checkable
class Voice(Protocol):
    """A speech engine that renders one sentence to a WAV file (mono, 16-bit, any rate)."""

    engine: str

    def voices(self) -> list[VoiceInfo]:
        """Voices this engine offers."""
        ...

    def render(self, text: str, path: Path, *, voice: str | None, rate: int) -> None:
        """Write `text` at `rate` words per minute to `path`; `voice` None means the engine default."""
        ...

    def close(self) -> None:
        """Release the engine (processes, models)."""
        ...


def make_voice(engine: str = "pyttsx3", voice: str | None = None) -> Voice:
    """The one factory for speech engines (tests plug in here); `voice` lets Piper take a `.onnx` path."""
    if engine == "pyttsx3":
        from voiceguide.voice.pyttsx3_voice import Pyttsx3Voice

        return Pyttsx3Voice()
    if engine == "piper":
        from voiceguide.voice.piper_voice import PiperVoice

        return PiperVoice(extra=[voice] if voice and voice.lower().endswith(".onnx") else ())
    raise VoiceError(f"unknown speech engine {engine!r} (available: {', '.join(ENGINES)})")


def resolve_engine(engine: str, language: str | None = None, voice: str | None = None) -> str:
    """The engine `auto` stands for: Piper where it has the named voice or one for the language, else pyttsx3."""
    if engine != "auto":
        return engine
    if voice and voice.lower().endswith(".onnx"):
        return "piper"  # a Piper model file: Piper says clearly if it cannot use it
    from voiceguide.voice.piper_voice import piper_installed, piper_voice_for

    found = piper_voice_for(language, voice)
    if found is not None:
        _LOGGER.info("narration: Piper, voice %s (%s)", found.id, found.source)
        return "piper"
    why = ("Piper is not installed" if not piper_installed()
           else f"Piper has no voice {voice!r}" if voice else f"Piper has no voice for {language or 'this language'}")
    _LOGGER.info("narration: pyttsx3 (%s)", why)
    return "pyttsx3"


def _lang_key(tag: str) -> str:
    return tag.strip().lower().replace("_", "-")


def pick_voice(voices: list[VoiceInfo], name: str | None, language: str | None = None) -> VoiceInfo | None:
    """The voice a name or a language asks for; None means "the engine's default".

    A name may be an id ('gmw/en-us'), the last part of one ('en-us'), or a display name
    ('English (America)'), in any case. Without a name, the best voice for a BCP-47 language.
    """
    if name:
        wanted = name.strip().lower()
        for test in (
            lambda v: v.id == name,
            lambda v: v.id.lower() == wanted,
            lambda v: v.name.lower() == wanted,
            lambda v: v.id.lower().rsplit("/", 1)[-1] == wanted,
            lambda v: wanted in (_lang_key(x) for x in v.languages),
        ):
            found = [v for v in voices if test(v)]
            if found:
                return found[0]
        names = sorted({v.id for v in voices} | {v.name for v in voices})
        close = difflib.get_close_matches(name, names, n=5, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else "; `voiceguide voices` lists them"
        raise VoiceError(f"no voice named {name!r}{hint}")
    if language:
        tag = _lang_key(language)
        primary = tag.split("-", 1)[0]
        for test in (
            lambda langs: tag in langs,
            lambda langs: primary in langs,
            lambda langs: any(x.startswith(primary + "-") for x in langs),
        ):
            found = [v for v in voices if test([_lang_key(x) for x in v.languages])]
            if found:
                return found[0]
        _LOGGER.warning("no voice for language %s; using the engine's default voice", language)
    return None


def default_cache_dir() -> Path:
    """Where rendered sentences live between runs (the user cache dir)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("voiceguide")) / "voice"


_SPACES = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """The text as rendered and keyed: surrounding and repeated whitespace do not matter."""
    return _SPACES.sub(" ", text).strip()


class RenderCache:
    """WAV files on disk keyed by (engine, voice, text, rate); writes are atomic, so readers never see half a file."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    @staticmethod
    def key(engine: str, voice: str | None, text: str, rate: int) -> str:
        """A stable key for one rendering."""
        blob = json.dumps([CACHE_VERSION, engine, voice or "", normalize_text(text), int(rate)], ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def path(self, engine: str, key: str) -> Path:
        """Where a key's WAV lives (whether or not it exists yet)."""
        return self.directory / engine / key[:2] / f"{key}.wav"

    def get(self, engine: str, key: str) -> Path | None:
        """The cached WAV, if any."""
        path = self.path(engine, key)
        return path if path.is_file() else None

    def temp_path(self, engine: str, key: str) -> Path:
        """A private file name next to the final one, for rendering before an atomic rename."""
        final = self.path(engine, key)
        final.parent.mkdir(parents=True, exist_ok=True)
        return final.parent / f".tmp-{key[:16]}-{uuid.uuid4().hex[:8]}.wav"

    def commit(self, engine: str, key: str, temp: Path) -> Path:
        """Move a finished rendering into place."""
        final = self.path(engine, key)
        os.replace(temp, final)
        return final

    def entries(self) -> list[Path]:
        """Every cached WAV."""
        if not self.directory.is_dir():
            return []
        return [p for p in self.directory.rglob("*.wav") if not p.name.startswith(".tmp-")]

    def size_bytes(self) -> int:
        """Disk space the cache takes."""
        return sum(p.stat().st_size for p in self.entries())

    @staticmethod
    def touch(path: Path) -> None:
        """Mark an entry as used now (pruning drops the least recently used first)."""
        try:
            os.utime(path)
        except OSError:
            pass

    def prune(self, max_bytes: int) -> int:
        """Delete the least recently used entries until the cache fits in `max_bytes`; how many went."""
        stats = []
        for path in self.entries():
            try:
                st = path.stat()
            except OSError:
                continue
            stats.append((st.st_mtime, st.st_size, path))
        total = sum(size for _, size, _ in stats)
        removed = 0
        for _, size, path in sorted(stats):
            if total <= max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
            removed += 1
        if removed:
            _LOGGER.info("render cache: removed %d old sentences to stay under %d MB", removed, max_bytes // 2**20)
        return removed


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
