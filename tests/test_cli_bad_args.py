"""Every path and number flag of every command: a bad value is one line on stderr, exit 1 or 2, never a traceback.

Issue 13, defect 8: `pack render … --out /proc/x` ended in a traceback and `listen --wav /dev/null` said "no such
file" of a file that exists. Hypothesis picks bad values (missing, a folder, a file where a folder goes, empty,
not a WAV, a place nothing can be made, numbers out of range, NaN, infinity) for each flag; every value drawn is
bad, so no command ever gets to do its work.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voiceguide.cli import main

ROOT = Path(__file__).resolve().parents[1]
Kind = Callable[[Path], st.SearchStrategy[str]]


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder of bad things to point flags at, and a user dir with no config, history or packs of its own."""
    base = tmp_path_factory.mktemp("bad-args")
    (base / "folder").mkdir()
    (base / "empty.wav").write_bytes(b"")
    (base / "text.wav").write_text("these are not samples\n")
    (base / "afile").write_text("x")
    home = base / "home"
    with pytest.MonkeyPatch.context() as mp:
        for var, sub in (("HOME", ""), ("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"),
                         ("XDG_CACHE_HOME", "cache")):
            mp.setenv(var, str(home / sub))
        mp.delenv("VOICEGUIDE_MODEL", raising=False)
        yield base


_NAME = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/"), min_size=1,
                max_size=12).filter(lambda s: s not in (".", ".."))


def missing(base: Path) -> st.SearchStrategy[str]:
    """A path to nothing."""
    return _NAME.map(lambda n: str(base / "missing" / n))


def under_a_file(base: Path) -> st.SearchStrategy[str]:
    """A path through a regular file: nothing can be there, or be made there."""
    return _NAME.map(lambda n: str(base / "afile" / n))


def unmakeable(base: Path) -> st.SearchStrategy[str]:
    """Under /proc: the folder exists, yet takes no new entries (what the issue tried)."""
    return _NAME.map(lambda n: f"/proc/voiceguide-{n}")


def garbage_file(base: Path) -> st.SearchStrategy[str]:
    """A file of random bytes that is not a WAV file."""
    def write(data: bytes) -> str:
        path = base / f"garbage-{abs(hash(data))}.wav"
        path.write_bytes(data)
        return str(path)

    return st.binary(min_size=1, max_size=64).filter(lambda b: not b.startswith(b"RIFF")).map(write)


def fixed(*names: str) -> Kind:
    """Some of the prepared bad things (relative names are in the bad folder)."""
    return lambda base: st.sampled_from([n if n.startswith("/") else str(base / n) for n in names])


def either(*kinds: Kind) -> Kind:
    """Any of these kinds of bad path."""
    return lambda base: st.one_of(*(k(base) for k in kinds))


IN_WAV = either(missing, under_a_file, garbage_file, fixed("folder", "empty.wav", "text.wav", "/dev/null"))
CONFIG = either(missing, under_a_file, fixed("folder"))
IN_DIR = either(missing, under_a_file, fixed("afile", "text.wav", "/dev/null"))
PACKS_DIR = either(under_a_file, fixed("afile", "text.wav", "/dev/null"))  # a missing one is only "no packs yet"
OUT_DIR = either(under_a_file, unmakeable, fixed("afile", "/dev/null"))
OUT_FILE = either(under_a_file, fixed("folder", "/proc/voiceguide-x/out.wav", "missing/out.wav"))


def floats_outside(low: float, high: float) -> st.SearchStrategy[str]:
    """Numbers (as typed) below, above, or no number at all: NaN, infinity."""
    return st.one_of(st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: not low <= x <= high).map(repr),
                     st.sampled_from(["nan", "inf", "-inf", "1e999", "x", "", "1,5"]))


def not_positive(high: float) -> st.SearchStrategy[str]:
    """Zero, negative, over `high`, or not a finite number."""
    return st.one_of(st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: not 0 < x <= high).map(repr),
                     st.sampled_from(["0", "-0", "nan", "inf", "-1", "x"]))


PATH_FLAGS: list[tuple[list[str], str, Kind]] = [
    (["pack", "render", "facial-massage"], "--out", OUT_DIR),
    (["pack", "render", "facial-massage"], "--cache-dir", OUT_DIR),
    (["pack", "render", "facial-massage"], "--config", CONFIG),
    (["pack", "list"], "--packs-dir", PACKS_DIR),  # a group flag: placed before the subcommand below
    (["pack", "new"], "", either(under_a_file, unmakeable, fixed("afile", "/dev/null"))),
    (["listen"], "--wav", IN_WAV),
    (["listen", "--wav", "/dev/null"], "--model", IN_DIR),
    (["run", "--console"], "--input-wav", IN_WAV),
    (["run", "--console"], "--output-wav", OUT_FILE),
    (["run", "--console"], "--model", IN_DIR),
    (["run", "--console"], "--packs-dir", PACKS_DIR),
    (["run", "--console"], "--data-dir", OUT_DIR),
    (["run", "--console"], "--cache-dir", OUT_DIR),
    (["run", "--console"], "--config", CONFIG),
    (["serve", "--once"], "--data-dir", OUT_DIR),
    (["serve", "--once"], "--config", CONFIG),
    (["serve", "--once"], "--model", IN_DIR),
    (["history"], "--data-dir", OUT_DIR),
    (["session", "console"], "--data-dir", OUT_DIR),
    (["session", "graph"], "--output", either(under_a_file, unmakeable, fixed("folder"))),
    (["model", "fetch", "vosk-model-small-en-us-0.15"], "--dest", OUT_DIR),
    (["model", "path"], "--model", IN_DIR),
    (["doctor", "--no-sound"], "--config", CONFIG),
    (["devices"], "--config", CONFIG),
]

NUMBER_FLAGS: list[tuple[list[str], str, st.SearchStrategy[str]]] = [
    (["pack", "show", "facial-massage"], "--tempo", floats_outside(0.5, 2.0)),
    (["pack", "render", "facial-massage"], "--rate", st.sampled_from(["0", "-5", "79", "451", "x", "1.5", "nan"])),
    (["run", "--console"], "--volume", floats_outside(0.0, 1.0)),
    (["run", "--console"], "--tempo", floats_outside(0.5, 2.0)),
    (["run", "--console"], "--hold-seconds", not_positive(86400)),
    (["run", "--console"], "--input-device", st.integers(max_value=-1).map(str)),
    (["run", "--console"], "--output-device", st.integers(max_value=-1).map(str)),
    (["serve", "--once"], "--volume", floats_outside(0.0, 1.0)),
    (["serve", "--once"], "--tempo", floats_outside(0.5, 2.0)),
    (["serve", "--once"], "--retry-seconds", not_positive(3600)),
    (["listen", "--wav", "/dev/null"], "--input-device", st.integers(max_value=-1).map(str)),
    (["simulate"], "--hold-seconds", not_positive(86400)),
    (["simulate"], "--tempo", floats_outside(0.5, 2.0)),
    (["history"], "--limit", st.one_of(st.integers(max_value=0).map(str), st.sampled_from(["x", "1.5", "nan"]))),
    (["session", "console"], "--speed", not_positive(1000)),
    (["session", "console"], "--hold-seconds", not_positive(86400)),
    (["doctor", "--no-sound"], "--min-free-mb", st.one_of(
        st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: not 0 <= x < float("inf")).map(repr),
        st.sampled_from(["nan", "inf", "-1", "x"]))),
]


def _argv(prefix: list[str], flag: str, value: str) -> list[str]:
    if prefix == ["pack", "list"]:
        return ["pack", flag, value, "list"]
    return [*prefix, value] if not flag else [*prefix, f"{flag}={value}"]


def _check_one_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    """The invariant: exit 1 or 2, and besides argparse's usage lines one `voiceguide: …` line, no traceback."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code in (1, 2), (argv, code, err)
    assert "Traceback" not in err, (argv, err)
    message = [line for line in err.splitlines() if line and not line.startswith(("usage:", " "))]
    assert len(message) == 1 and message[0].startswith("voiceguide: "), (argv, err)


_FUZZ = settings(max_examples=20, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much])


@pytest.mark.parametrize(("prefix", "flag", "kind"), PATH_FLAGS,
                         ids=[f"{' '.join(p[:2])} {f}" for p, f, _ in PATH_FLAGS])
def test_a_bad_path_is_one_line(prefix: list[str], flag: str, kind: Kind, bad: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    @_FUZZ
    @given(value=kind(bad))
    def check(value: str) -> None:
        _check_one_line(capsys, _argv(prefix, flag, value))

    check()


@pytest.mark.parametrize(("prefix", "flag", "values"), NUMBER_FLAGS,
                         ids=[f"{' '.join(p[:2])} {f}" for p, f, _ in NUMBER_FLAGS])
def test_a_bad_number_is_one_line(prefix: list[str], flag: str, values: st.SearchStrategy[str], bad: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    @_FUZZ
    @given(value=values)
    def check(value: str) -> None:
        _check_one_line(capsys, _argv(prefix, flag, value))

    check()


@pytest.mark.parametrize(("argv", "says"), [
    (["pack", "render", "facial-massage", "--out", "/proc/x"],
     "/proc/x: cannot be made: /proc does not take new folders"),
    (["listen", "--wav", "/dev/null"], "/dev/null: is empty"),
    (["run", "--input-wav", "{bad}/folder"], "folder: is a folder, not a file"),
    (["pack", "new", "{bad}/afile"], "afile: is a file, not a folder"),
])
def test_the_issues_examples_from_a_shell(argv: list[str], says: str, bad: Path) -> None:
    """As a user types them: one line that says what is wrong with the path, exit 1, no traceback."""
    argv = [a.replace("{bad}", str(bad)) for a in argv]
    proc = subprocess.run([sys.executable, "-m", "voiceguide", *argv], capture_output=True, text=True, timeout=120,
                          check=False, cwd=ROOT, env=os.environ.copy())
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and says in proc.stderr, proc.stderr


def test_a_packs_dir_not_made_yet_is_no_packs_yet(bad: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The installer renders with `--packs-dir` in a fresh data dir: a folder not there yet holds no packs, no error."""
    assert main(["pack", "--packs-dir", str(bad / "data" / "packs"), "show", "facial-massage", "--json"]) == 0
    assert "Traceback" not in capsys.readouterr().err
