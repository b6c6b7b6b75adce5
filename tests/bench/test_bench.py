"""The bench plumbing: one section of BENCHMARKS.md replaced in place, and the footprint bench's quick run."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"


def _benchlib():  # noqa: ANN202 - a module loaded from scripts/
    spec = importlib.util.spec_from_file_location("_benchlib", SCRIPTS / "_benchlib.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_replace_section_keeps_the_others(tmp_path):
    bl = _benchlib()
    path = tmp_path / "BENCH.md"
    path.write_text("<!-- head:start -->\nold head\n<!-- head:end -->\n\nfree text between\n\n"
                    "<!-- a:start -->\nA one\n<!-- a:end -->\n\n<!-- b:start -->\nB one\n<!-- b:end -->\ntail\n")
    bl.replace_section(path, "a", "A two\n| x |")
    text = path.read_text()
    assert "A one" not in text and "<!-- a:start -->\nA two\n| x |\n<!-- a:end -->" in text
    assert "old head" in text and "free text between" in text and "B one" in text and text.endswith("tail\n")
    assert text.index("a:start") < text.index("b:start")  # in place, not moved

    bl.replace_section(path, "c", "C new")  # missing: added at the end
    assert path.read_text().rstrip().endswith("<!-- c:start -->\nC new\n<!-- c:end -->")
    bl.replace_section(path, "head", "new head")
    text = path.read_text()
    assert text.startswith("<!-- head:start -->\nnew head\n<!-- head:end -->") and "old head" not in text
    assert text.count("<!-- a:start -->") == 1 and "B one" in text and "C new" in text

    fresh = tmp_path / "fresh.md"
    bl.replace_section(fresh, "b", "B")
    bl.replace_section(fresh, "head", "H")  # the head goes first even when written last
    assert fresh.read_text() == "<!-- head:start -->\nH\n<!-- head:end -->\n\n<!-- b:start -->\nB\n<!-- b:end -->\n"


def test_machine_line_names_cpu_cores_python_and_load():
    bl = _benchlib()
    m = bl.machine()
    line = bl.machine_line(m)
    assert str(m["cores"]) in line and m["python"] in line and "load average" in line
    assert isinstance(m["load1_start"], float)


def test_footprint_quick_run_writes_its_figures(tmp_path):
    md = tmp_path / "BENCH.md"
    md.write_text("<!-- other:start -->\nkept\n<!-- other:end -->\n")
    out = tmp_path / "fp.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPTS / "bench_footprint.py"), "--seconds", "3", "--engines", "pocketsphinx",
         "--tts", "pyttsx3", "--no-render-piper", "--sysbench-seconds", "1", "--out", str(out), "--markdown", str(md)],
        cwd=ROOT, capture_output=True, text=True, timeout=240, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    runs = {r["input"]: r for r in report["runs"]}
    assert set(runs) == {"silence", "speech"}
    for r in runs.values():
        assert r["command"].startswith("voiceguide run facial-massage --input-wav ")
        assert "--engine pocketsphinx" in r["command"] and "--output-wav" in r["command"]
        assert r["startup_s"] > 0 and r["window_cpu_s"] > 0 and r["peak_rss_main_mb"] > 0
        assert r["median_pss_tree_listening_mb"] > 0
    assert report["renders"][0]["speech_s"] > 0
    text = md.read_text()
    assert "<!-- other:start -->\nkept\n<!-- other:end -->" in text
    section = text.split("<!-- footprint:start -->", 1)[1].split("<!-- footprint:end -->", 1)[0]
    assert "bench_footprint.py --seconds 3" in section and "load average" in section
    assert "| met? |" in section and runs["silence"]["command"] in section
    if report["sysbench_here"]:  # sysbench installed (scripts/_setup.sh): the Pi budget table
        assert "Raspberry Pi 4 (est.)" in section and "met on Raspberry Pi 3B+?" in section
