"""Warnings about packs that are valid but will misbehave: self-triggering words, long steps, repeats."""

from __future__ import annotations

from collections.abc import Iterator

from voiceguide.core.commands import has_builtin_vocabulary, normalize
from voiceguide.packs.loader import LoadedPack, Problem, field_path
from voiceguide.packs.schema import Pack, sentences
from voiceguide.packs.timeline import step_timing
from voiceguide.packs.vocabulary import pack_vocabulary

__all__ = ["LONG_STEP_SECONDS", "lint", "narration_texts"]

LONG_STEP_SECONDS = 120.0


def narration_texts(pack: Pack) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every text the assistant says aloud, with its key path."""
    for name in ("intro", "safety", "closing"):
        block = getattr(pack, name)
        if block is not None:
            yield from _texts((name, "say"), block.say)
    for i, step in enumerate(pack.steps):
        yield from _texts(("steps", i, "say"), step.say)
        for j, group in enumerate(step.strokes):
            yield from _texts(("steps", i, "strokes", j, "say"), group.say)
            if group.cue:
                yield ("steps", i, "strokes", j, "cue"), group.cue


def _texts(loc: tuple[str | int, ...], say: str | list[str] | None) -> Iterator[tuple[tuple[str | int, ...], str]]:
    items = sentences(say)
    if isinstance(say, str):
        yield loc, say
    else:
        for k, text in enumerate(items):
            yield (*loc, k), text


def lint(loaded: LoadedPack) -> list[Problem]:
    """Every warning for a valid pack, pointing at file, line and field."""
    pack = loaded.pack
    positions = loaded.positions()
    file = str(loaded.path)
    out: list[Problem] = []

    def warn(loc: tuple[str | int, ...], message: str) -> None:
        line, col = positions.find(loc) or (None, None)
        out.append(Problem(file, line, col, field_path(loc), message, severity="warning"))

    if not has_builtin_vocabulary(pack.pack.language) and not pack.commands.replace:
        warn(("pack", "language"), f"no built-in command words for '{pack.pack.language}': English "
             "commands will be used unless [commands.replace] gives phrases in this language")

    vocabulary = pack_vocabulary(pack)
    seen: dict[str, str] = {}
    for loc, text in narration_texts(pack):
        for phrase, command in vocabulary.find_in(text):
            warn(loc, f"narration says the command word '{phrase}' ({command.value}); the assistant "
                 "could hear itself: rephrase")
        key = normalize(text)
        if loc[-1] == "cue":
            continue  # a cue is meant to recur
        if key in seen and len(key.split()) > 2:
            warn(loc, f"the same sentence is said again (first at {seen[key]})")
        seen.setdefault(key, field_path(loc))

    for i, step in enumerate(pack.steps):
        timing = step_timing(pack, i)
        if not step.hold and step.rest == 0 and timing.total > LONG_STEP_SECONDS:
            warn(("steps", i), f"step '{step.id}' runs {timing.total:.0f} s with no rest or hold; add "
                 "`rest` or split it so the person can catch up")
    return sorted(out, key=lambda p: (p.line or 0, p.col or 0))
