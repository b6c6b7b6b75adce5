"""`voiceguide pack check` on real pack files: every kind of broken pack, with the expected messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from voiceguide.cli import main
from voiceguide.packs.loader import MAX_PACK_BYTES, PackError, load_pack

CASES = Path(__file__).parent / "cases"
CASE_NAMES = sorted(p.name for p in CASES.iterdir() if (p / "expected.txt").is_file())


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("case", CASE_NAMES)
def test_check_reports_expected_problems(case: str, capsys: pytest.CaptureFixture[str]) -> None:
    folder = CASES / case
    code, out, err = run_cli(capsys, "pack", "check", str(folder))
    shown = out.replace(f"{folder}/", "").replace(str(folder), ".")
    expected = (folder / "expected.txt").read_text(encoding="utf-8")
    assert f"{shown}exit {code}\n" == expected
    assert "Traceback" not in err


def test_every_problem_names_file_line_and_field(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "pack", "check", "--json", str(CASES / "out-of-range"))
    problems = json.loads(out)
    assert code == 1
    assert len(problems) == 6
    for p in problems:
        assert p["file"].endswith("pack.toml")
        assert isinstance(p["line"], int) and p["line"] > 0
        assert p["field"]
        assert p["severity"] == "error"
    assert {p["field"] for p in problems} >= {"voice.rate", "steps[0].strokes[0].count"}


def test_warnings_fail_only_when_strict(capsys: pytest.CaptureFixture[str]) -> None:
    folder = str(CASES / "lint-warnings")
    assert run_cli(capsys, "pack", "check", folder)[0] == 0
    code, out, _ = run_cli(capsys, "pack", "check", "--strict", folder)
    assert code == 1
    assert "command word 'stop'" in out


def test_several_packs_report_all(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "pack", "check", str(CASES / "valid-minimal"), str(CASES / "missing-fields"),
                           str(CASES / "duplicate-ids"))
    assert code == 1
    assert "missing required key 'title'" in out
    assert "duplicate step id 'forehead'" in out


def test_oversized_pack_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = (CASES / "valid-minimal" / "pack.toml").read_text()
    (tmp_path / "pack.toml").write_text(source + "#" * (MAX_PACK_BYTES + 1) + "\n")
    code, out, _ = run_cli(capsys, "pack", "check", str(tmp_path))
    assert code == 1
    assert "the limit is 1,000,000" in out


def test_a_pack_toml_path_and_a_missing_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "pack", "check", str(CASES / "valid-minimal" / "pack.toml"))[0] == 0
    code, out, _ = run_cli(capsys, "pack", "check", "/no/such/pack")
    assert code == 1
    assert "no such pack folder, file or id" in out


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "pack", "check")
    assert code == 2
    assert "voiceguide:" in err and "Traceback" not in err


def test_builtin_pack_passes_strict(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "pack", "check", "--strict", "facial-massage")
    assert (code, out) == (0, "ok: 1 pack valid\n")


def test_python_dash_m_entry_point() -> None:
    proc = subprocess.run([sys.executable, "-m", "voiceguide", "pack", "check", str(CASES / "syntax-error")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "pack.toml:3:16: TOML syntax error" in proc.stdout
    assert proc.stderr == ""


def test_pack_error_is_an_exception_with_every_problem() -> None:
    with pytest.raises(PackError) as info:
        load_pack(CASES / "unknown-keys")
    assert [p.line for p in info.value.problems] == [5, 13, 15, 16]
