#!/usr/bin/env python3
"""Prove that every runtime dependency installs on a Raspberry Pi (aarch64, CPython 3.11) without a compiler.

pip resolves the project's `[project.dependencies]` for the Pi's platform with `--only-binary=:all:`.
A dependency published only as an sdist (vosk needs `srt`) stops that resolution; such a package is
accepted only if it is pure Python: its sdist is downloaded, built here into a wheel, and the wheel must be
tagged `py3-none-any` (no compiled code). That wheel is offered to the next resolution round, so the
report lists every package, each as a platform wheel or a named pure-Python sdist — none is hidden.

`--armv7` also asks, for each compiled package, whether PyPI has a wheel for 32-bit Raspberry Pi OS
(armv7l) at the same version; the ones that have none must come from piwheels.org (that OS's default
extra index) or be built on the Pi. This is a report, not part of the pass/fail verdict.

Usage: scripts/check_pi_wheels.py [--dest DIR] [--json] [--armv7]   (exit 0: all installable, 1: not)
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_17_aarch64", "manylinux_2_28_aarch64")
PYTHON_VERSION = "3.11"
# Raspberry Pi OS Bookworm ships glibc 2.36: any manylinux up to 2_36 installs there.
MAX_GLIBC = (2, 36)
_MISSING = re.compile(r"No matching distribution found for (\S+)")
_ROUNDS = 5


@dataclass(frozen=True)
class Found:
    """One package that the Pi would install, and how."""

    name: str
    version: str
    file: str
    kind: str
    """'wheel' (a binary or universal wheel for the Pi) or 'pure-python sdist' (built here to py3-none-any)."""


class CheckFailed(Exception):
    """A dependency has no installable form for the Pi; the message says which and why."""


def runtime_dependencies(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """The `[project.dependencies]` requirement strings."""
    with pyproject.open("rb") as f:
        return list(tomllib.load(f)["project"]["dependencies"])


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
                          capture_output=True, text=True, check=False)


def _platform_download(requirements: list[str], dest: Path, wheelhouse: Path) -> subprocess.CompletedProcess[str]:
    args = ["download", "--only-binary=:all:", "--python-version", PYTHON_VERSION, "--implementation", "cp",
            "--find-links", str(wheelhouse), "-d", str(dest)]
    for platform in PLATFORMS:
        args += ["--platform", platform]
    return _pip(*args, *requirements)


def _requirement_of(stderr: str, name: str) -> str:
    """The full requirement pip could not satisfy (`srt` from `... requirement srt (from vosk)`)."""
    m = re.search(r"satisfies the requirement (.+?) \(from", stderr)
    if m and re.split(r"[<>=!~;\[ ]", m.group(1), maxsplit=1)[0].lower() == name.lower():
        return m.group(1)
    return name


def build_pure_python(requirement: str, wheelhouse: Path, work: Path) -> Path:
    """Download the sdist of `requirement`, build it, and insist the result is a py3-none-any wheel."""
    sdists = work / "sdist"
    got = _pip("download", "--no-deps", "--no-binary=:all:", "-d", str(sdists), requirement)
    if got.returncode != 0:
        raise CheckFailed(f"{requirement}: no wheel for the Pi and no sdist either:\n{got.stderr.strip()}")
    built = work / "built"
    archives = sorted(sdists.iterdir())
    res = _pip("wheel", "--no-deps", "-w", str(built), str(archives[-1]))
    if res.returncode != 0:
        raise CheckFailed(f"{requirement}: its sdist does not build:\n{res.stderr.strip()}")
    wheels = sorted(built.glob("*.whl"))
    if not wheels:
        raise CheckFailed(f"{requirement}: building its sdist gave no wheel")
    wheel = wheels[-1]
    tags = wheel.name[:-4].split("-")[-3:]
    if tags[1:] != ["none", "any"] or not tags[0].startswith("py"):
        raise CheckFailed(f"{requirement}: only an sdist exists and it is not pure Python "
                          f"(built {wheel.name}): the Pi would need a compiler")
    target = wheelhouse / wheel.name
    wheel.replace(target)
    return target


def _wheel_fits(filename: str) -> bool:
    """A wheel's tags install on Raspberry Pi OS Bookworm 64-bit (CPython 3.11, glibc 2.36)."""
    _, _, *rest = filename[:-4].split("-")
    python, abi, platform = rest[-3:]
    pythons, abis, platforms = python.split("."), abi.split("."), platform.split(".")
    py_ok = any(p in ("py3", "py311", "cp311") for p in pythons) or (
        "abi3" in abis and any(re.fullmatch(r"cp3(\d+)", p) and int(p[3:]) <= 11 for p in pythons))
    abi_ok = any(a in ("none", "abi3", "cp311") for a in abis)
    plat_ok = False
    for p in platforms:
        if p == "any" or p in ("manylinux2014_aarch64", "linux_aarch64"):
            plat_ok = True
        m = re.fullmatch(r"manylinux_(\d+)_(\d+)_aarch64", p)
        if m and (int(m.group(1)), int(m.group(2))) <= MAX_GLIBC:
            plat_ok = True
    return py_ok and abi_ok and plat_ok


def check(requirements: list[str], dest: Path) -> list[Found]:
    """Resolve `requirements` for the Pi into `dest`; every package found, or CheckFailed."""
    wheelhouse = dest / "pure-python"
    wheelhouse.mkdir(parents=True, exist_ok=True)
    downloads = dest / "downloads"
    pure: dict[str, Path] = {}
    for _ in range(_ROUNDS):
        res = _platform_download(requirements, downloads, wheelhouse)
        if res.returncode == 0:
            break
        m = _MISSING.search(res.stderr)
        if m is None:
            raise CheckFailed(f"pip could not resolve the dependencies for the Pi:\n{res.stderr.strip()}")
        name = m.group(1)
        if name.lower() in pure:
            raise CheckFailed(f"{name}: still unresolved after building it:\n{res.stderr.strip()}")
        with tempfile.TemporaryDirectory(dir=dest) as work:
            pure[name.lower()] = build_pure_python(_requirement_of(res.stderr, name), wheelhouse, Path(work))
    else:
        raise CheckFailed(f"gave up after {_ROUNDS} rounds of sdist-only packages: {', '.join(pure)}")

    pure_names = {p.name for p in pure.values()}
    found: list[Found] = []
    for file in sorted(downloads.iterdir()):
        if not file.name.endswith(".whl"):
            raise CheckFailed(f"{file.name}: pip fetched something that is not a wheel")
        name, version = file.name.split("-")[:2]
        if file.name in pure_names:
            found.append(Found(name, version, file.name, "pure-python sdist"))
        elif _wheel_fits(file.name):
            found.append(Found(name, version, file.name, "wheel"))
        else:
            raise CheckFailed(f"{file.name}: its tags do not install on a Pi with CPython {PYTHON_VERSION}")
    return found


ARMV7_PLATFORMS = ("manylinux2014_armv7l", "manylinux_2_17_armv7l", "manylinux_2_31_armv7l", "linux_armv7l")


def armv7_missing(found: list[Found], dest: Path) -> list[str]:
    """Compiled packages (of an aarch64 resolution) with no PyPI wheel for armv7l at the same version."""
    missing = []
    for f in found:
        if f.kind != "wheel" or "aarch64" not in f.file:
            continue
        args = ["download", "--no-deps", "--only-binary=:all:", "--python-version", PYTHON_VERSION,
                "--implementation", "cp", "-d", str(dest / "armv7")]
        for platform in ARMV7_PLATFORMS:
            args += ["--platform", platform]
        if _pip(*args, f"{f.name}=={f.version}").returncode != 0:
            missing.append(f"{f.name} {f.version}")
    return missing


def main(argv: list[str] | None = None) -> int:
    """Print one line per package the Pi would install; exit 1 with the reason if one cannot be."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=Path, default=None, help="keep the downloads here (default: a temp dir)")
    parser.add_argument("--json", action="store_true", help="one JSON object per package")
    parser.add_argument("--armv7", action="store_true", help="also report compiled packages PyPI lacks for armv7l")
    args = parser.parse_args(argv)
    missing: list[str] = []
    with tempfile.TemporaryDirectory(prefix="pi-wheels-") as tmp:
        dest = args.dest or Path(tmp)
        try:
            found = check(runtime_dependencies(), dest)
        except CheckFailed as exc:
            print(f"check_pi_wheels: NOT installable on the Pi: {exc}", file=sys.stderr)
            return 1
        if args.armv7:
            missing = armv7_missing(found, dest)
    for f in found:
        print(json.dumps(asdict(f)) if args.json else f"{f.kind:18} {f.name} {f.version}  ({f.file})")
    if not args.json:
        print(f"all {len(found)} packages install on aarch64 / CPython {PYTHON_VERSION} without a compiler")
    if args.armv7:
        print("armv7l (32-bit Raspberry Pi OS): " + (
            f"no PyPI wheel for {', '.join(missing)}: they come from piwheels.org (the OS's default extra index) "
            "or are built on the Pi" if missing else "every compiled package has a PyPI wheel"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
