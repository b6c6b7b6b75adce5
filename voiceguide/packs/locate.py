"""Find where a key path sits in TOML source, since tomllib keeps no positions."""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["Positions", "scan_positions"]

Path = tuple[str | int, ...]

_HEADER = re.compile(r"^\s*(\[\[|\[)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=""")
_INLINE_KEY = re.compile(r"""[{,]\s*([A-Za-z0-9_-]+|"[^"]*")\s*=""")


_UNION_TAGS = frozenset({"str", "int", "float", "bool", "dict", "list", "none"})


def _is_union_tag(part: str) -> bool:
    """Whether a location part is a pydantic union-branch label rather than a key."""
    return part in _UNION_TAGS or "[" in part or part.startswith(("function-", "constrained-"))


def _split_key(key: str) -> list[str]:
    """`a."b.c".d` → ['a', 'b.c', 'd']."""
    parts = re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", key)
    return [p[1:-1] if p[:1] in "\"'" else p for p in parts]


class Positions:
    """Map from key paths (with array-of-table indices) to 1-based (line, column)."""

    def __init__(self) -> None:
        self._at: dict[Path, tuple[int, int]] = {}

    def add(self, path: Path, line: int, col: int) -> None:
        """Remember the first place a path appears."""
        self._at.setdefault(path, (line, col))

    def find(self, loc: Sequence[str | int]) -> tuple[int, int] | None:
        """The position of the longest known prefix of a (pydantic-style) location."""
        path: list[str | int] = []
        best = self._at.get(())
        for part in loc:
            if isinstance(part, str) and _is_union_tag(part):
                continue  # pydantic names the union branch it tried ('str', 'list[str]'): not a key
            path.append(part)
            best = self._at.get(tuple(path), best)
        return best

    def __contains__(self, path: Path) -> bool:
        return path in self._at


def scan_positions(text: str) -> Positions:
    """Scan TOML text line by line for table headers and keys (multi-line values are skipped)."""
    pos = Positions()
    pos.add((), 1, 1)
    counters: dict[Path, int] = {}
    table: Path = ()
    in_string: str | None = None
    depth = 0
    for lineno, line in enumerate(text.splitlines(), start=1):
        if in_string:
            if in_string in line:
                in_string = None
            continue
        if depth > 0:
            depth += _bracket_delta(line)
            continue
        m = _HEADER.match(line)
        if m and "=" not in m.group(2):
            names = _split_key(m.group(2))
            table = _resolve(names, counters, is_array=m.group(1) == "[[")
            pos.add(table, lineno, line.index(m.group(1)) + 1)
            continue
        k = _KEY.match(line)
        if not k:
            continue
        path = (*table, *_split_key(k.group(1)))
        pos.add(path, lineno, len(line) - len(line.lstrip()) + 1)
        rest = line[k.end():]
        offset = k.end()
        for im in _INLINE_KEY.finditer(rest):
            name = im.group(1).strip('"')
            pos.add((*path, name), lineno, offset + im.start(1) + 1)
        for quote in ('"""', "'''"):
            if rest.count(quote) % 2 == 1:
                in_string = quote
        if in_string is None:
            depth = max(0, _bracket_delta(rest))
    return pos


def _resolve(names: list[str], counters: dict[Path, int], is_array: bool) -> Path:
    """Turn header names into a path, using the latest index of each array of tables on the way."""
    path: list[str | int] = []
    for i, name in enumerate(names):
        path.append(name)
        key = tuple(path)
        last = i == len(names) - 1
        if last and is_array:
            counters[key] = counters.get(key, -1) + 1
            path.append(counters[key])
        elif key in counters:
            path.append(counters[key])
    return tuple(path)


def _bracket_delta(fragment: str) -> int:
    """Open minus closed brackets outside strings and comments on one line."""
    delta = 0
    quote: str | None = None
    escaped = False
    for ch in fragment:
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\" and quote == '"':
                escaped = True
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            break
        elif ch in "[{":
            delta += 1
        elif ch in "]}":
            delta -= 1
    return delta
