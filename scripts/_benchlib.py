#!/usr/bin/env python3
"""What the bench scripts share: the machine and its load, Markdown tables with goals, one section of
BENCHMARKS.md replaced in place, and CPU/RSS read from /proc (no psutil).

    .venv/bin/python scripts/_benchlib.py head --markdown BENCHMARKS.md   # (re)writes the file's head only
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import shlex
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "BENCHMARKS.md"
HEAD_KEY = "head"
PARTIAL = ".partial"
_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


# ---- the machine ---------------------------------------------------------------------------------
def machine() -> dict[str, object]:
    """CPU model, cores, Python and the 1-minute load average now (several engineers share the CPU)."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "system": platform.platform(), "load1_start": round(os.getloadavg()[0], 2), "commit": commit()}


def commit() -> str | None:
    """The code measured: `git describe --always --dirty` of this tree ($BENCH_COMMIT outside a checkout)."""
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True,
                             timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        out = None
    if out is not None and out.returncode == 0 and out.stdout.strip():
        return out.stdout.strip()
    return os.environ.get("BENCH_COMMIT")


def machine_line(m: dict[str, object]) -> str:
    """One line for a section: CPU, cores, Python and the load the run started under."""
    load = m.get("load1_start")
    load_text = f"; 1-min load average {load:.2f} at start" if isinstance(load, (int, float)) else ""
    code = f"; code of commit {m['commit']}" if m.get("commit") else ""
    return f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores, Python {m.get('python', '?')}{load_text}{code}"


def now_utc() -> str:
    """The date and minute, as every section states it."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def command_line(script: str, argv: Sequence[str] | None) -> str:
    """The command that reproduces this run, from the repository root."""
    args = sys.argv[1:] if argv is None else list(argv)
    args = [a.removesuffix(PARTIAL) for a in args]  # bench_all builds FILE.partial, then renames it FILE
    return " ".join([".venv/bin/python", f"scripts/{script}", *map(shlex.quote, args)])


def run_header(command: str, date: str, m: dict[str, object]) -> list[str]:
    """The lines every section starts with: command, date, machine and load."""
    return ["```", command, "```", "", f"Run {date} on {machine_line(m)}.", ""]


# ---- tables ---------------------------------------------------------------------------------------
def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    """A Markdown table (cells are str()-ed; None shows as –)."""
    def cell(v: object) -> str:
        return "–" if v is None else str(v).replace("|", "\\|")

    out = ["| " + " | ".join(headers) + " |", "| " + " | ".join("---" for _ in headers) + " |"]
    out += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return out


def met(ok: bool | None) -> str:
    """The 'met?' cell: short of a goal is said in bold."""
    return "–" if ok is None else ("yes" if ok else "**no (short)**")


def at_most(value: float | None, goal: float) -> bool | None:
    return None if value is None else value <= goal


def at_least(value: float | None, goal: float) -> bool | None:
    return None if value is None else value >= goal


def pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def ms(x: float | None) -> str:
    return "–" if x is None else f"{1000 * x:.0f} ms"


# ---- sections of BENCHMARKS.md --------------------------------------------------------------------
def markers(key: str) -> tuple[str, str]:
    return f"<!-- {key}:start -->", f"<!-- {key}:end -->"


def wrap(key: str, body: str) -> str:
    """A section between its marker comments."""
    start, end = markers(key)
    return f"{start}\n{body.strip()}\n{end}"


def replace_section(path: Path, key: str, body: str) -> None:
    """Put `body` between this key's markers in `path`, keeping every other section; add it at the end if
    missing (the head, key 'head', goes first)."""
    start, end = markers(key)
    text = path.read_text() if path.exists() else ""
    section = wrap(key, body)
    if start in text and end in text.split(start, 1)[1]:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        text = before + section + after
    elif key == HEAD_KEY:
        text = section + "\n\n" + text.lstrip("\n")
    else:
        text = (text.rstrip("\n") + "\n\n" if text.strip() else "") + section + "\n"
    if not text.endswith("\n"):
        text += "\n"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


# ---- CPU and memory --------------------------------------------------------------------------------
def self_cpu_seconds() -> float:
    """User + system CPU time of this process so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def self_peak_rss_mb() -> float:
    """Peak resident set size of this process so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def proc_cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a running process (its own threads; reaped children not included)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime (fields 14 and 15 of stat)


def proc_rss_mb(pid: int) -> tuple[float, float] | None:
    """(current RSS, peak RSS) of a running process, from /proc/PID/status."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    values = {}
    for line in status.splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            values[line.split(":")[0]] = int(line.split()[1]) / 1024.0
    if "VmRSS" not in values:
        return None  # a zombie
    return values["VmRSS"], values.get("VmHWM", values["VmRSS"])


def proc_pss_mb(pid: int) -> float | None:
    """Proportional set size of a running process: shared pages split among their users (a fork's copy-on-write
    pages are not counted twice when a tree is summed)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def proc_descendants(pid: int) -> list[int]:
    """Every live descendant of a process (children of all its threads, recursively)."""
    found: list[int] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                kids = [int(k) for k in Path(f"/proc/{p}/task/{t}/children").read_text().split()]
            except OSError:
                continue
            found += kids
            todo += kids
    return found


def tree_sample(pid: int) -> dict[str, float]:
    """CPU seconds and memory of a process and its live descendants, now (memory of the tree: summed PSS)."""
    main_cpu = proc_cpu_seconds(pid) or 0.0
    main_rss = proc_rss_mb(pid) or (0.0, 0.0)
    kids = proc_descendants(pid)
    kid_cpu = sum(proc_cpu_seconds(k) or 0.0 for k in kids)
    pss = sum(proc_pss_mb(p) or 0.0 for p in [pid, *kids])
    return {"cpu_main": main_cpu, "cpu_tree": main_cpu + kid_cpu, "rss_main": main_rss[0], "hwm_main": main_rss[1],
            "pss_tree": pss, "processes": 1 + len(kids)}


# ---- the head of BENCHMARKS.md ------------------------------------------------------------------------
def head(minutes: int | None = None, commit: str | None = None) -> str:
    """The file's head: what regenerates it, and how long that took."""
    took = f"the last full run took {minutes} min" if minutes else "about 50 min"
    return "\n".join([
        "# Benchmarks",
        "",
        "Every figure below is written by a script; nothing here is typed by hand. One command regenerates the",
        f"whole file ({took} on this 2-core machine shared with other work; the recognition bench is most of it):",
        "",
        "```",
        "scripts/bench_all            # or: scripts/bench_all OTHER.md",
        "```",
        "",
        "It runs each bench script in turn with `--markdown`; each writes only its own section (between",
        "`<!-- name:start -->` and `<!-- name:end -->`), so one script can also be re-run alone with the command",
        "at the top of its section. Each section names that command, the date, the machine and the 1-minute load",
        "average when it started: the machine's 2 cores are shared by several people running tests and benchmarks,",
        "so timings carry that noise. Goals are the issues' (#6; #5 for the audio path; #4 for the English",
        "fallback; #7's Pi budget); a goal the figures miss reads **no (short)** in the `met?` column.",
        "",
        f"Head written {now_utc()} by `scripts/bench_all`" + (f", measuring the code of commit {commit}" if commit else "")
        + "; a section re-run alone names its own commit.",
    ])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="write the head of BENCHMARKS.md")
    ap.add_argument("what", choices=["head"])
    ap.add_argument("--markdown", type=Path, default=BENCHMARKS)
    ap.add_argument("--minutes", type=int, default=None, help="how long the full run took")
    ap.add_argument("--commit", default=None, help="the commit whose code was measured")
    args = ap.parse_args(argv)
    replace_section(args.markdown, HEAD_KEY, head(args.minutes, args.commit))
    return 0


if __name__ == "__main__":
    sys.exit(main())
