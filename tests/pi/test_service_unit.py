"""The systemd unit: accepted by systemd-analyze verify, hardened, and still able to reach the sound devices."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "scripts" / "voiceguide.service"

pytestmark = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                reason="systemd-analyze missing (scripts/test installs Debian's systemd package)")


def _placed(tmp_path: Path, text: str | None = None) -> Path:
    """The unit as install-pi.sh --prefix would write it, with its ExecStart pointing at this checkout."""
    prefix = tmp_path / "opt"
    (prefix / "venv" / "bin").mkdir(parents=True)
    (prefix / "venv" / "bin" / "voiceguide").symlink_to(ROOT / ".venv" / "bin" / "voiceguide")
    unit = tmp_path / "voiceguide.service"
    unit.write_text((text or UNIT.read_text()).replace("/opt/voiceguide", str(prefix)))
    return unit


def _verify(unit: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SYSTEMD_LOG_COLOR": "0"}
    return subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True,
                          timeout=60, env=env, check=False)


def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    """No error and no warning at all: systemd 252 (Bookworm's) understands every line."""
    res = _verify(_placed(tmp_path))
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "" and res.stderr.strip() == "", res.stdout + res.stderr


def test_verify_would_catch_a_mistake(tmp_path: Path) -> None:
    """The check above has teeth: a misspelt key or a bad value is reported (verify itself exits 0)."""
    broken = UNIT.read_text().replace("ProtectSystem=strict", "ProtectSytem=strict").replace(
        "Restart=on-failure", "Restart=sometimes")
    res = _verify(_placed(tmp_path, broken))
    assert "ProtectSytem" in res.stderr and "sometimes" in res.stderr


def test_exposure_is_low(tmp_path: Path) -> None:
    """systemd's own hardening score: overall exposure at most 2.0 of 10 ('OK')."""
    res = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--threshold=20", str(_placed(tmp_path))],
                         capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 0, res.stdout[-2000:]


def _service() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    return parser["Service"]


def test_runs_unprivileged_with_audio_and_restarts_without_a_config_loop() -> None:
    """The properties the issue asks for, each present: not root, audio group, back-off, no loop on exit 1."""
    s = _service()
    assert s["User"] not in ("", "root") and "audio" in s["SupplementaryGroups"].split()
    assert s["Restart"] == "on-failure" and s["RestartSec"] != "0"
    assert "1" in s["RestartPreventExitStatus"].split()  # UserError: a bad config file is the owner's to fix
    assert s["StandardOutput"] == "journal" and s["StandardError"] == "journal"
    for key in ("NoNewPrivileges", "PrivateTmp"):
        assert s[key] == "yes"
    assert s["ProtectSystem"] == "strict"


def test_hardening_leaves_the_sound_devices_reachable() -> None:
    """ALSA device nodes allowed, PulseAudio's unix socket family allowed, no private /dev hiding /dev/snd."""
    s = _service()
    assert s["PrivateDevices"] == "no"
    assert "char-alsa" in s["DeviceAllow"]
    assert "AF_UNIX" in s["RestrictAddressFamilies"].split()
    assert "MemoryDenyWriteExecute" not in s  # cffi callbacks (sounddevice) need writable+executable pages
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read_string(UNIT.read_text())
    assert "sound.target" in parser["Unit"]["After"].split() and "sound.target" in parser["Unit"]["Wants"].split()


def test_a_bad_config_file_ends_with_an_exit_code_that_is_not_restarted(tmp_path: Path) -> None:
    """The contract with RestartPreventExitStatus: a config typo exits 1 with file:line and key, no traceback."""
    bad = tmp_path / "config.toml"
    bad.write_text('pack = "facial-massage"\nvolume = 3\n')
    res = subprocess.run([sys.executable, "-m", "voiceguide", "run", "--console", "--config", str(bad)],
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120, check=False)
    assert str(res.returncode) in _service()["RestartPreventExitStatus"].split()
    assert f"{bad}:2: volume" in res.stderr and "Traceback" not in res.stderr
