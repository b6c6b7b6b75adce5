"""argparse types for path and number flags: a bad value is one line saying what is wrong, before any work starts.

A bad path raises `PathError`, a user error (exit 1, as a missing file always was); a bad number raises
`argparse.ArgumentTypeError`, a usage error (exit 2). Either way: `voiceguide: argument --flag: …`, no traceback.
"""

from __future__ import annotations

import argparse
import errno
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from voiceguide.cli import UserError

__all__ = ["PathError", "config_file", "device", "existing_dir", "input_file", "number", "output_dir", "output_file",
           "packs_dir", "positive_int", "wav_file", "writable_dir"]

_WAV_HEADER = 12  # "RIFF" <size> "WAVE"


def _why(exc: OSError) -> str:
    """The OS's reason in plain words ("permission denied"), without the errno and path noise."""
    return (exc.strerror or str(exc)).lower()


class PathError(UserError):
    """A path given on the command line that cannot be used: what is wrong with it, in one line."""


def _fail(path: Path, problem: str) -> PathError:
    return PathError(f"{path}: {problem}")


def input_file(text: str) -> Path:
    """A file to read: it exists, is not a folder, can be opened, and is not empty."""
    path = Path(text)
    if not os.path.lexists(path):
        raise _fail(path, "no such file")
    if path.is_dir():
        raise _fail(path, "is a folder, not a file")
    try:
        with open(path, "rb") as f:
            first = f.read(1)
    except OSError as exc:
        raise _fail(path, f"cannot be read ({_why(exc)})") from None
    if not first:
        raise _fail(path, "is empty")
    return path


def wav_file(text: str) -> Path:
    """An audio file to read: `input_file`, and it starts as a WAV file does (RIFF … WAVE)."""
    path = input_file(text)
    try:
        with open(path, "rb") as f:
            head = f.read(_WAV_HEADER)
    except OSError as exc:
        raise _fail(path, f"cannot be read ({_why(exc)})") from None
    if len(head) < _WAV_HEADER or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise _fail(path, "is not a WAV audio file (it does not start with a RIFF/WAVE header)")
    return path


def config_file(text: str) -> Path:
    """A config file named on the command line: it exists and can be read (empty is fine: all defaults)."""
    path = Path(text)
    if not os.path.lexists(path):
        raise _fail(path, "no such config file")
    if path.is_dir():
        raise _fail(path, "is a folder, not a config file")
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise _fail(path, f"cannot be read ({_why(exc)})") from None
    return path


def existing_dir(text: str) -> Path:
    """A folder to read from (packs, a model): it exists and is a folder."""
    path = Path(text)
    if not os.path.lexists(path):
        raise _fail(path, "no such folder")
    if not path.is_dir():
        raise _fail(path, "is not a folder")
    if not os.access(path, os.R_OK | os.X_OK):
        raise _fail(path, "cannot be read (permission denied)")
    return path


def _probe_writable(folder: Path) -> None:
    """Create and remove a file in `folder`: the only test that also catches read-only and pseudo file systems."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".voiceguide-probe-"):
            pass
    except OSError as exc:
        raise _fail(folder, f"is not writable ({_why(exc)})") from None


def _blocking_file(path: Path) -> Path | None:
    """The first existing part of `path` (itself or a parent) that is not a folder, if any."""
    for part in [path, *path.parents]:
        if os.path.lexists(part):
            return None if part.is_dir() else part
    return None


def _existing_parent(path: Path) -> Path:
    for part in path.absolute().parents:
        if part.is_dir():
            return part
    return Path("/")


def packs_dir(text: str) -> Path:
    """A folder of the user's packs: it may not exist yet (no packs of their own), but nothing else may be there."""
    path = Path(text)
    blocker = _blocking_file(path)
    if blocker == path:
        raise _fail(path, "is not a folder")
    if blocker is not None:
        raise _fail(path, f"cannot be a folder: {blocker} is a file")
    return path


def output_dir(text: str) -> Path:
    """A folder to write into: created if missing, and writable (the folder stays, as the command would make it)."""
    path = Path(text)
    blocker = _blocking_file(path)
    if blocker == path:
        raise _fail(path, "is a file, not a folder")
    if blocker is not None:
        raise _fail(path, f"cannot be made: {blocker} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileNotFoundError:  # the parent is there (or was made) yet refuses: /proc, a vanished mount
        raise _fail(path, f"cannot be made: {_existing_parent(path)} does not take new folders") from None
    except OSError as exc:
        raise _fail(path, f"cannot be made ({_why(exc)})") from None
    _probe_writable(path)
    return path


writable_dir = output_dir
"""History, cache and model folders are written into the same way."""


def output_file(text: str) -> Path:
    """A file to write: not a folder, in an existing writable folder; an existing file must be writable."""
    path = Path(text)
    if path.is_dir():
        raise _fail(path, "is a folder, not a file")
    folder = path.parent
    blocker = _blocking_file(folder)
    if blocker is not None:
        raise _fail(path, f"cannot be written: {blocker} is a file, not a folder")
    if not folder.is_dir():
        raise _fail(path, f"cannot be written: no such folder {folder}")
    if os.path.lexists(path):
        try:
            with open(path, "ab"):
                pass
        except OSError as exc:
            raise _fail(path, f"cannot be written ({_why(exc)})") from None
    else:
        _probe_writable(folder)
    return path


def number(low: float | None = None, high: float | None = None, *, above: float | None = None,
           what: str = "a number") -> Callable[[str], float]:
    """A finite float in [low, high] (and > `above`): NaN and infinity are never a setting."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        bounds = []
        if above is not None:
            bounds.append(f"more than {above:g}")
        if low is not None and high is not None:
            bounds.append(f"between {low:g} and {high:g}")
        elif low is not None:
            bounds.append(f"at least {low:g}")
        elif high is not None:
            bounds.append(f"at most {high:g}")
        wanted = f"{what} {' and '.join(bounds)}".strip()
        if (not math.isfinite(value) or (above is not None and value <= above)
                or (low is not None and value < low) or (high is not None and value > high)):
            raise argparse.ArgumentTypeError(f"must be {wanted}, not {text!r}")
        return value

    return parse


def positive_int(text: str) -> int:
    """A whole number of at least 1 (a count)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {text!r}")
    return value


def device(text: str) -> str:
    """A device name or index: an index is never negative, a name never empty."""
    stripped = text.strip()
    if not stripped:
        raise argparse.ArgumentTypeError("empty device name: give a name or an index from `voiceguide devices`")
    if stripped.lstrip("+-").isdigit() and int(stripped) < 0:
        raise argparse.ArgumentTypeError(f"device index must be 0 or more, not {text!r} (see `voiceguide devices`)")
    return text


def os_error_message(exc: OSError) -> str:
    """One line for an OSError nobody caught nearer: the path and the reason, as `ls` would say it."""
    where = exc.filename if exc.filename is not None else ""
    reason = exc.strerror or errno.errorcode.get(exc.errno or 0, "") or str(exc)
    return f"{where}: {reason.lower()}" if where else reason.lower()
