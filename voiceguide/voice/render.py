"""Pre-rendering a pack: every sentence a session can say from it, as WAV files with a manifest.

A Raspberry Pi can then play a pack without synthesizing at run time (the cache is warm), and authors
can listen to each sentence. The sentences come from the session's own narration functions, so what
is rendered is what is said.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from voiceguide.audio.clip import read_wav
from voiceguide.packs.schema import Pack, sentences
from voiceguide.voice.base import normalize_text
from voiceguide.voice.narrator import Narrator

__all__ = ["MANIFEST", "RenderedItem", "Sentence", "pack_sentences", "reachable_tempos", "render_pack"]

_LOGGER = logging.getLogger(__name__)

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class Sentence:
    """One thing a session says, and where in the pack it comes from."""

    where: str
    """e.g. 'intro', 'step-2-cheeks', 'step-2-cheeks-strokes-1-rep-4', 'closing'."""
    kind: str
    """'say', 'count' or 'cue', as in `events.Say.kind`."""
    text: str


def pack_sentences(pack: Pack) -> list[Sentence]:
    """Every sentence the session says from this pack (placeholders filled), then its fixed hints; each text once."""
    from voiceguide.packs.vocabulary import pack_vocabulary
    from voiceguide.session.narration import Hints, group_script, step_script, stroke_text
    from voiceguide.session.position import Position

    found: list[Sentence] = []
    seen: set[str] = set()

    def add(where: str, kind: str, text: str) -> None:
        text = normalize_text(text)
        if text and text not in seen:
            seen.add(text)
            found.append(Sentence(where, kind, text))

    for name, block in (("intro", pack.intro), ("safety", pack.safety)):
        for s in sentences(block.say if block else None):
            add(name, "say", s)
    for i, step in enumerate(pack.steps):
        where = f"step-{i + 1}-{step.id}"
        for s in step_script(pack, i):
            add(where, "say", s)
        for g, group in enumerate(step.strokes):
            for s in group_script(pack, Position(i, g)):
                add(f"{where}-strokes-{g + 1}", "say", s)
            for n in range(1, group.count + 1):
                said = stroke_text(pack, Position(i, g), group, n)
                if said is not None:
                    add(f"{where}-strokes-{g + 1}-rep-{n}", said[0], said[1])
    for s in sentences(pack.closing.say if pack.closing else None):
        add("closing", "say", s)
    for text in Hints(pack_vocabulary(pack)).fixed(pack):  # the session's own: pause, stop, hold, offers…
        add("hints", "hint", text)
    return found


def reachable_tempos(start: float, low: float = 0.5, high: float = 2.0, factor: float = 1.25) -> list[float]:
    """Every tempo `slower`/`faster` can reach from `start` (rounded and bounded as the session does)."""
    seen = {round(start, 4)}
    frontier = [round(start, 4)]
    while frontier:
        tempo = frontier.pop()
        for f in (factor, 1.0 / factor):
            new = round(min(high, max(low, tempo * f)), 4)
            if new not in seen:
                seen.add(new)
                frontier.append(new)
    return sorted(seen)


@dataclass(frozen=True)
class RenderedItem:
    """One rendered sentence in the manifest."""

    file: str
    text: str
    kind: str
    where: str
    tempo: float
    rate: int
    duration: float


_UNSAFE = re.compile(r"[^a-z0-9-]+")


def render_pack(
    pack: Pack,
    narrator: Narrator,
    out_dir: Path | None,
    *,
    tempos: list[float] | None = None,
    content_hash: str = "",
    progress: Callable[[int, int, Sentence], None] | None = None,
) -> list[RenderedItem]:
    """Render every sentence at each tempo into the cache, and copy them to `out_dir` with a manifest."""
    tempos = tempos or [pack.voice.tempo]
    items = pack_sentences(pack)
    jobs = []
    rates_done: set[int] = set()
    for tempo in tempos:
        scale = round(1.0 / tempo, 4)
        rate = narrator.rate_for(scale)
        if rate in rates_done:  # two tempos at the same spoken rate share their renderings
            continue
        rates_done.add(rate)
        jobs += [(tempo, scale, rate, s) for s in items]
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    rendered: list[RenderedItem] = []
    for number, (tempo, scale, rate, sentence) in enumerate(jobs, start=1):
        if progress is not None:
            progress(number, len(jobs), sentence)
        path = narrator.render(sentence.text, scale)
        name = f"{number:04d}-{_UNSAFE.sub('-', sentence.where.lower()).strip('-')}"
        if len(rates_done) > 1:
            name += f"-{rate}wpm"
        name += ".wav"
        if out_dir is not None:
            shutil.copyfile(path, out_dir / name)
        rendered.append(
            RenderedItem(name, sentence.text, sentence.kind, sentence.where, tempo, rate,
                         round(read_wav(path).duration, 3))
        )
    if out_dir is not None:
        manifest = {
            "format": MANIFEST_FORMAT,
            "pack": {
                "id": pack.pack.id,
                "title": pack.pack.title,
                "language": pack.pack.language,
                "version": pack.pack.version,
                "content_hash": content_hash,
            },
            "engine": narrator.engine,
            "voice": narrator.voice_id,
            "items": [asdict(item) for item in rendered],
        }
        tmp = out_dir / f".{MANIFEST}.tmp"
        tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, out_dir / MANIFEST)
    _LOGGER.info("rendered %d sentences (%d synthesized, the rest from cache)", len(rendered), narrator.renders)
    return rendered
