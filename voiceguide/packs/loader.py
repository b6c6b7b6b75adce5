"""Load a pack from a folder, a `pack.toml` or a built-in id, reporting every problem with file:line."""

from __future__ import annotations

import difflib
import hashlib
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from voiceguide.packs.locate import Positions, scan_positions
from voiceguide.packs.schema import (
    CommandChanges,
    Narration,
    Pack,
    PackInfo,
    Step,
    StrokeGroup,
    VoiceSettings,
    step_shape_problem,
)

__all__ = [
    "MAX_PACK_BYTES",
    "LoadedPack",
    "PackError",
    "Problem",
    "builtin_dir",
    "builtin_ids",
    "find_pack_file",
    "load_pack",
    "parse_pack",
    "field_path",
]

MAX_PACK_BYTES = 1_000_000
PACK_FILE = "pack.toml"


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth a look) in a pack, where it is, and in which field."""

    file: str
    line: int | None
    col: int | None
    field: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}:{self.col or 1}"
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}: {self.field}: {prefix}{self.message}" if self.field else f"{where}: {prefix}{self.message}"

    def as_dict(self) -> dict[str, Any]:
        """For `--json`."""
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "field": self.field,
            "message": self.message,
            "severity": self.severity,
        }


class PackError(Exception):
    """A pack that cannot be used; carries every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class LoadedPack:
    """A validated pack with where it came from."""

    pack: Pack
    path: Path
    """The `pack.toml` file."""
    source: str
    """The TOML text, kept so warnings can point at lines."""
    builtin: bool = False

    @property
    def folder(self) -> Path:
        """The pack folder (file references are relative to it)."""
        return self.path.parent

    @property
    def content_hash(self) -> str:
        """Hash of the validated content: formatting and comments do not change it."""
        return hashlib.sha256(self.pack.model_dump_json().encode()).hexdigest()[:16]

    def positions(self) -> Positions:
        """Key positions in the source, for pointing warnings at lines."""
        return scan_positions(self.source)


def builtin_dir() -> Path:
    """Where the built-in packs live inside the package."""
    return Path(__file__).resolve().parent / "builtin"


def builtin_ids() -> list[str]:
    """Ids of the packs shipped with voiceguide."""
    return sorted(p.parent.name for p in builtin_dir().glob(f"*/{PACK_FILE}"))


def find_pack_file(spec: str | Path, packs_dir: Path | None = None) -> tuple[Path, bool]:
    """Resolve a folder, a pack.toml path, a user pack id or a built-in id to its `pack.toml`."""
    path = Path(spec).expanduser()
    if path.is_dir():
        candidate = path / PACK_FILE
        if not candidate.is_file():
            raise PackError([Problem(str(path), None, None, "", f"no {PACK_FILE} in this folder")])
        return candidate, False
    if path.is_file():
        return path, False
    text = str(spec)
    if re.fullmatch(r"[a-z0-9][a-z0-9-]*", text):
        if packs_dir is not None and (packs_dir / text / PACK_FILE).is_file():
            return packs_dir / text / PACK_FILE, False
        builtin = builtin_dir() / text / PACK_FILE
        if builtin.is_file():
            return builtin, True
    known = ", ".join(builtin_ids())
    raise PackError(
        [Problem(text, None, None, "", f"no such pack folder, file or id (built-in packs: {known}; "
                 "see `voiceguide pack list`)")]
    )


def load_pack(spec: str | Path, packs_dir: Path | None = None) -> LoadedPack:
    """Find, read and validate a pack; raise PackError listing every problem."""
    file, builtin = find_pack_file(spec, packs_dir)
    display = str(file)
    try:
        size = file.stat().st_size
        if size > MAX_PACK_BYTES:
            raise PackError([Problem(display, None, None, "", f"file is {size:,} bytes; the limit is "
                                     f"{MAX_PACK_BYTES:,} (keep audio in separate files)")])
        raw = file.read_bytes()
    except OSError as exc:
        raise PackError([Problem(display, None, None, "", f"cannot read: {exc.strerror}")]) from exc
    loaded = parse_pack(raw, display, folder=file.parent)
    return LoadedPack(loaded.pack, file, loaded.source, builtin)


def parse_pack(raw: bytes, display: str, folder: Path | None = None) -> LoadedPack:
    """Validate pack bytes (the core of load_pack, usable on text that is not on disk)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise PackError([Problem(display, line, col, "", "not UTF-8 text (save the file as UTF-8)")]) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        at_line, at_col, message = _toml_error_position(str(exc))
        raise PackError([Problem(display, at_line, at_col, "", f"TOML syntax error: {message}")]) from exc
    positions = scan_positions(text)
    problems = _raw_step_problems(data, display, positions)
    raw_messages = {(p.field, p.message) for p in problems}
    pack: Pack | None = None
    try:
        pack = Pack.model_validate(data)
    except ValidationError as exc:
        problems += [p for p in _validation_problems(exc, data, display, positions)
                     if (p.field, p.message) not in raw_messages and not p.message.startswith("duplicate step id")]
    if pack is not None and folder is not None:
        problems += _file_reference_problems(pack, folder, display, positions)
    if problems or pack is None:
        raise PackError(sorted(problems, key=lambda p: (p.line or 0, p.col or 0)))
    return LoadedPack(pack, Path(display), text)


def field_path(loc: Iterable[str | int]) -> str:
    """('steps', 3, 'strokes', 0, 'count') → 'steps[3].strokes[0].count'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not _is_tag(part):
            out += f".{part}" if out else part
    return out


def _is_tag(part: str) -> bool:
    """pydantic's union-branch labels, which are not part of the user's key path."""
    return (part in {"str", "int", "float", "bool", "list", "dict"} or "[" in part
            or part.startswith(("function-", "constrained-")))


_SLUG_HINT = "use lower-case letters, digits and dashes, like 'lymphatic-drainage'"
_PATTERN_HINTS = {
    "language": "not a BCP-47 language tag such as en-US or ko-KR",
    "version": "not a version such as 1.0 or 1.2.0",
    "sound": "must be a relative path to a .wav file inside the pack folder",
}


def _toml_error_position(message: str) -> tuple[int | None, int | None, str]:
    """tomllib on 3.11 gives the place only inside its message: '… (at line 3, column 7)'."""
    m = re.search(r"\(at line (\d+), column (\d+)\)", message)
    if m:
        return int(m.group(1)), int(m.group(2)), message[: m.start()].strip()
    m = re.search(r"\(at end of document\)", message)
    if m:
        return None, None, message[: m.start()].strip() + " at the end of the file"
    return None, None, message


# The model class that validates each level, by path shape (ints dropped), for "did you mean".
_MODELS: dict[tuple[str, ...], type[BaseModel]] = {
    (): Pack,
    ("pack",): PackInfo,
    ("voice",): VoiceSettings,
    ("commands",): CommandChanges,
    ("intro",): Narration,
    ("safety",): Narration,
    ("closing",): Narration,
    ("steps",): Step,
    ("steps", "strokes"): StrokeGroup,
}


def _validation_problems(
    exc: ValidationError, data: dict[str, Any], display: str, positions: Positions
) -> list[Problem]:
    """Turn pydantic errors into one readable Problem each."""
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        kind = err["type"]
        message = err["msg"]
        parent = loc[:-1]
        if kind == "extra_forbidden":
            name = str(loc[-1])
            shape = tuple(p for p in parent if isinstance(p, str) and not _is_tag(p))
            model = _MODELS.get(shape)
            message = f"unknown key '{name}'"
            if model is not None:
                close = difflib.get_close_matches(name, list(model.model_fields), n=1, cutoff=0.6)
                if close:
                    message += f" (did you mean '{close[0]}'?)"
                else:
                    message += f" (allowed: {', '.join(model.model_fields)})"
        elif kind == "missing":
            message = f"missing required key '{loc[-1]}'"
        elif kind == "enum":
            message = f"unknown command '{err.get('input')}' ({message.removeprefix('Input should be ')})"
        elif kind == "value_error":
            message = message.removeprefix("Value error, ")
        elif kind == "string_pattern_mismatch":
            message = f"{_PATTERN_HINTS.get(str(loc[-1]), _SLUG_HINT)} (got {err.get('input')!r})"
        elif "input" in err and not isinstance(err["input"], (dict, list)):
            message = f"{message} (got {err['input']!r})"
        where = positions.find(loc if kind != "missing" else parent)
        line, col = where if where else (None, None)
        problems.append(Problem(display, line, col, field_path(loc), message))
    return _drop_union_noise(problems)


def _drop_union_noise(problems: list[Problem]) -> list[Problem]:
    """A `say` that is neither text nor a list fails once per union branch: say it once, plainly."""
    out: list[Problem] = []
    by_field: dict[str, int] = {}
    for p in problems:
        if p.field in by_field and "valid" in p.message:
            first = out[by_field[p.field]]
            got = p.message[p.message.find(" (got"):] if " (got" in p.message else ""
            out[by_field[p.field]] = Problem(first.file, first.line, first.col, first.field,
                                             f"should be a text or a list of texts{got}")
            continue
        by_field.setdefault(p.field, len(out))
        out.append(p)
    return out


def _raw_step_problems(data: dict[str, Any], display: str, positions: Positions) -> list[Problem]:
    """Checks across fields that the schema makes only once every field is valid, or only on the list:
    reused step ids (pointing at the second use) and steps with both or neither of strokes and hold."""
    steps = data.get("steps")
    if not isinstance(steps, list):
        return []
    seen: dict[str, int] = {}
    problems = []
    for i, step in enumerate(steps):
        if not isinstance(step, dict):
            continue
        shape = step_shape_problem(step.get("hold") is True, bool(step.get("strokes")))
        if shape:
            line, col = positions.find(("steps", i)) or (None, None)
            problems.append(Problem(display, line, col, f"steps[{i}]", shape))
        sid = step.get("id")
        if not isinstance(sid, str):
            continue
        if sid in seen:
            line, col = positions.find(("steps", i, "id")) or (None, None)
            problems.append(Problem(display, line, col, f"steps[{i}].id",
                                    f"duplicate step id '{sid}' (first used by steps[{seen[sid]}])"))
        else:
            seen[sid] = i
    return problems


def _file_reference_problems(pack: Pack, folder: Path, display: str, positions: Positions) -> list[Problem]:
    """Sound files must stay inside the pack folder and exist."""
    problems = []
    root = folder.resolve()
    for i, step in enumerate(pack.steps):
        for j, group in enumerate(step.strokes):
            if group.sound is None:
                continue
            loc = ("steps", i, "strokes", j, "sound")
            line, col = positions.find(loc) or (None, None)
            target = (folder / group.sound).resolve()
            if Path(group.sound).is_absolute() or not target.is_relative_to(root):
                problems.append(Problem(display, line, col, field_path(loc),
                                        f"'{group.sound}' is outside the pack folder (use a path inside it)"))
            elif not target.is_file():
                problems.append(Problem(display, line, col, field_path(loc),
                                        f"file '{group.sound}' does not exist in the pack folder"))
    return problems
