"""scripts/install-pi.sh under --root: a real venv and install, then a second run that changes nothing."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import os
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from voiceguide.config import Config, load_config

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "install-pi.sh"
# A model "mirror" that refuses connections: the offline path, without touching the network.
OFFLINE = ["--model-url", "http://127.0.0.1:9/vosk-model.zip", "--model-sha256", "0" * 64]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    res = subprocess.run(["bash", str(SCRIPT), "--python", sys.executable, *args], capture_output=True, text=True,
                         timeout=280, env=env, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    return res


@contextlib.contextmanager
def _model_server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A tiny vosk-shaped model archive served from 127.0.0.1 (the real one is 41 MB from the internet)."""
    archive = tmp_path / "model.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("vosk-model-small-en-us-0.15/am/final.mdl", b"not a real model")
        zf.writestr("vosk-model-small-en-us-0.15/conf/model.conf", b"--sample-frequency=16000\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield (f"http://127.0.0.1:{server.server_address[1]}/model.zip",
               hashlib.sha256(archive.read_bytes()).hexdigest())
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every file and folder under root with size, mode and modification time (bytecode caches aside)."""
    snap = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for name in [*dirnames, *filenames]:
            p = Path(dirpath) / name
            st = p.lstat()
            snap[str(p.relative_to(root))] = (st.st_size, st.st_mode, st.st_mtime_ns)
    return snap


@pytest.mark.timeout(600)
def test_install_twice_then_uninstall_keeps_history(tmp_path: Path) -> None:
    """Install, install again (nothing changes), edit the config, uninstall twice: history and edits stay."""
    root = tmp_path / "pi"
    first = _run("--root", str(root), *OFFLINE)
    opt = root / "opt" / "voiceguide"
    assert "would run: systemctl enable voiceguide.service" in first.stdout  # never run for real under --root
    assert "bundled English recognizer (pocketsphinx)" in first.stdout  # offline: the fallback, said plainly
    version = subprocess.run([str(opt / "venv" / "bin" / "voiceguide"), "--version"], capture_output=True,
                             text=True, timeout=60, check=True)
    assert version.stdout.startswith("voiceguide ")
    assert (opt / "src").stat().st_mode & 0o005 == 0o005  # the service user can read the copied source
    unit = root / "etc" / "systemd" / "system" / "voiceguide.service"
    assert unit.read_text() == (ROOT / "scripts" / "voiceguide.service").read_text()
    config = root / "etc" / "voiceguide" / "config.toml"
    assert load_config(config) == Config()  # the file documents the real defaults, and is valid
    wrapper = (opt / "bin" / "voiceguide").read_text()
    assert "XDG_CONFIG_HOME=/etc" in wrapper and os.access(opt / "bin" / "voiceguide", os.X_OK)
    for d in ("var/lib/voiceguide", "var/cache/voiceguide"):
        assert (root / d).is_dir()
    cache = root / "var" / "cache" / "voiceguide"
    assert "rendered the narration of 'facial-massage'" in first.stdout, first.stdout
    assert len(list(cache.rglob("*.wav"))) > 30 and (cache / ".prerendered").is_file()

    before = _snapshot(root)
    second = _run("--root", str(root), *OFFLINE)
    assert "nothing changed" in second.stdout
    assert "ok: the narration of 'facial-massage' is rendered" in second.stdout
    assert "would run: systemctl" not in second.stdout  # no restart when nothing changed
    assert _snapshot(root) == before

    config.write_text(config.read_text().replace("volume = 0.8", "volume = 0.5"))
    history = root / "var" / "lib" / "voiceguide" / "voiceguide.sqlite3"
    history.write_bytes(b"SQLite format 3\x00 the owner's history")
    third = _run("--root", str(root), *OFFLINE)
    assert "nothing changed" in third.stdout and load_config(config).volume == 0.5  # edits are never overwritten

    # what the service will say is all in the cache already: rendering the pack again synthesizes nothing
    # (with the cache folder the service's XDG_CACHE_HOME gives, not one named here)
    again = subprocess.run([str(opt / "venv" / "bin" / "voiceguide"), "pack", "render", "facial-massage",
                            "--config", str(config)], capture_output=True, text=True, timeout=120, check=True,
                           env={**os.environ, "XDG_CACHE_HOME": str(root / "var" / "cache")})
    assert " 0 synthesized now" in again.stdout, again.stdout

    with _model_server(tmp_path) as (url, sha):
        fetched = _run("--root", str(root), "--model-url", url, "--model-sha256", sha)
    model = root / "var" / "lib" / "voiceguide" / "models" / "vosk-model-small-en-us-0.15"
    assert "fetched the vosk model" in fetched.stdout and (model / "am" / "final.mdl").is_file()
    assert not list(model.parent.glob(".*"))  # no partial download left beside it

    gone = _run("--root", str(root), "--uninstall")
    assert not model.exists()
    assert not opt.exists() and not unit.exists() and not (root / "var" / "cache" / "voiceguide").exists()
    assert history.read_bytes() == b"SQLite format 3\x00 the owner's history"
    assert config.is_file() and "kept" in gone.stdout  # edited: the owner's to delete
    again = _run("--root", str(root), "--uninstall")
    assert "nothing to uninstall" in again.stdout and history.is_file()


def test_uninstall_removes_an_unedited_config(tmp_path: Path) -> None:
    """A config file exactly as installed is the installer's own: --uninstall takes it away."""
    root = tmp_path / "pi"
    conf = root / "etc" / "voiceguide" / "config.toml"
    conf.parent.mkdir(parents=True)
    stamp = root / "opt" / "voiceguide" / ".config-as-installed"
    stamp.parent.mkdir(parents=True)
    conf.write_text("pack = \"facial-massage\"\n")
    digest = subprocess.run(["sha256sum"], input=conf.read_bytes(), capture_output=True, check=True).stdout
    stamp.write_text(digest.decode().split()[0] + "\n")
    res = _run("--root", str(root), "--uninstall")
    assert not conf.exists() and not (root / "opt" / "voiceguide").exists(), res.stdout


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    """--dry-run lists the actions and leaves the target untouched."""
    root = tmp_path / "pi"
    res = _run("--root", str(root), "--dry-run", "--no-model")
    assert "would run:" in res.stdout and "venv" in res.stdout
    assert [p for p in root.rglob("*")] == []


def test_bad_option_is_a_usage_error() -> None:
    """One line and exit 2, as the rest of voiceguide does."""
    res = subprocess.run(["bash", str(SCRIPT), "--frobnicate"], capture_output=True, text=True, timeout=30,
                         check=False)
    assert res.returncode == 2 and "unknown option --frobnicate" in res.stderr
