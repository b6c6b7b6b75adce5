"""`pack list`, `show`, `schema` and `new`: what authors see."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from voiceguide.cli import main
from voiceguide.packs.loader import load_pack
from voiceguide.packs.schema import Pack
from voiceguide.packs.timeline import total_seconds

CASES = Path(__file__).parent / "cases"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_builtin_routine_lasts_ten_to_fifteen_minutes() -> None:
    pack = load_pack("facial-massage").pack
    assert 10 * 60 <= total_seconds(pack, 1.0) <= 15 * 60
    ids = [s.id for s in pack.steps]
    # preparation first (held until the person is done), then strokes, acupressure points as their own steps
    assert ids[:2] == ["cleanse", "oil"] and all(s.hold for s in pack.steps[:2])
    assert ids.index("forehead") < ids.index("cheeks") < ids.index("jawline") < ids.index("neck")
    assert {"tapping", "kneading", "temples", "brow-bone", "cheekbones", "jaw-hinge"} <= set(ids)
    assert pack.intro is not None and pack.safety is not None and pack.closing is not None


def test_show_json_timeline(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "pack", "show", "facial-massage", "--json")
    data = json.loads(out)
    assert code == 0
    assert data["id"] == "facial-massage"
    assert len(data["steps"]) == 15
    steps_total = sum(s["total_seconds"] for s in data["steps"])
    assert data["total_seconds"] == pytest.approx(steps_total + data["framing_seconds"], abs=1.0)
    forehead = next(s for s in data["steps"] if s["id"] == "forehead")
    assert forehead["strokes"] == [{"count": 8, "seconds": 4.0}, {"count": 6, "seconds": 4.0}]
    assert forehead["stroke_seconds"] == 56.0


def test_show_table_and_tempo(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "pack", "show", "facial-massage")
    assert code == 0
    assert "Jaw hinge" in out and "Total: 13:" in out
    code, slow, _ = run_cli(capsys, "pack", "show", "facial-massage", "--tempo", "1.25", "--json")
    assert json.loads(slow)["total_seconds"] > 13 * 60 * 1.2
    code, _, err = run_cli(capsys, "pack", "show", "facial-massage", "--tempo", "9")
    assert code == 2 and "--tempo" in err


def test_show_broken_pack_is_one_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "pack", "show", str(CASES / "missing-fields"))
    assert code == 1
    assert "cannot use pack" in err and "missing required key 'title'" in err
    assert "Traceback" not in err


def test_schema_is_json_schema_of_the_model(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "pack", "schema")
    schema = json.loads(out)
    assert code == 0
    assert schema["required"] == ["pack", "steps"]
    assert set(schema["properties"]) == set(Pack.model_fields)
    assert schema["$defs"]["Step"]["additionalProperties"] is False


def test_new_scaffold_passes_strict_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "My Evening Routine"
    assert run_cli(capsys, "pack", "new", str(target))[0] == 0
    code, out, _ = run_cli(capsys, "pack", "check", "--strict", str(target))
    assert (code, out) == (0, "ok: 1 pack valid\n")
    assert load_pack(target).pack.pack.id == "my-evening-routine"
    code, _, err = run_cli(capsys, "pack", "new", str(target))
    assert code == 1 and "already exists" in err


def test_list_shows_builtin_and_user_packs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(CASES / "valid-minimal", tmp_path / "valid-minimal")
    shutil.copytree(CASES / "missing-fields", tmp_path / "broken")
    code, out, _ = run_cli(capsys, "pack", "--packs-dir", str(tmp_path), "list")
    assert code == 0
    assert "facial-massage" in out and "13:" in out
    assert "valid-minimal" in out
    assert "invalid" in out and "broken" in out
    # a user pack is found by id with --packs-dir
    assert run_cli(capsys, "pack", "--packs-dir", str(tmp_path), "show", "valid-minimal")[0] == 0


def test_output_cut_short_by_the_reader_is_not_a_traceback() -> None:
    import os
    import subprocess
    import sys

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line: every write fails with EPIPE
    try:
        proc = subprocess.run([sys.executable, "-m", "voiceguide", "pack", "schema"], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write_end)
    assert proc.returncode == 0
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr
