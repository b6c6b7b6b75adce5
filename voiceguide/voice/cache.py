"""The render cache: WAV files on disk keyed by (engine, voice, text, rate), written atomically."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from pathlib import Path

from voiceguide.voice.base import normalize_text

__all__ = ["CACHE_VERSION", "RenderCache", "default_cache_dir"]

_LOGGER = logging.getLogger(__name__)

CACHE_VERSION = 1
"""Part of every cache key: bump it when the rendering itself changes."""


def default_cache_dir() -> Path:
    """Where rendered sentences live between runs (the user cache dir)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("voiceguide")) / "voice"


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
