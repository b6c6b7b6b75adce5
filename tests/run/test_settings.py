"""`run` and `serve` build their settings the same way (cli/run.py: add_settings_arguments, load_settings,
run_settings): the same flags, the same checks, and packs found by id in `--packs-dir`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from processes import ROOT
from test_serve_sessions import TINY


def _config(tmp_path: Path) -> str:
    """An empty config file, so that the machine's own does not count."""
    path = tmp_path / "config.toml"
    path.write_text("", encoding="utf-8")
    return str(path)


def _voiceguide(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "voiceguide", *args], input=stdin, capture_output=True, text=True,
                          timeout=120, check=False, cwd=ROOT)


def test_run_finds_a_users_pack_by_id_in_the_packs_dir(tmp_path: Path) -> None:
    (tmp_path / "packs" / "tiny").mkdir(parents=True)
    (tmp_path / "packs" / "tiny" / "pack.toml").write_text(TINY, encoding="utf-8")
    res = _voiceguide("run", "tiny", "--packs-dir", str(tmp_path / "packs"), "--config", _config(tmp_path),
                      "--console", "--json",
                      "--data-dir", str(tmp_path / "data"), stdin="stop\nyes\n")
    assert res.returncode == 0, res.stderr
    assert '"text": "Welcome."' in res.stdout  # tiny's intro


@pytest.mark.parametrize("command", ["run", "serve"])
@pytest.mark.parametrize(("flag", "value", "message"), [("--volume", "3", "--volume must be between 0 and 1"),
                                                         ("--tempo", "9", "--tempo must be between 0.5 and 2")])
def test_run_and_serve_check_their_flags_alike(command: str, flag: str, value: str, message: str,
                                               tmp_path: Path) -> None:
    res = _voiceguide(command, flag, value, "--config", _config(tmp_path))
    assert res.returncode == 2
    assert message in res.stderr and "Traceback" not in res.stderr


def test_an_unknown_pack_is_one_message_for_both(tmp_path: Path) -> None:
    for command in ("run", "serve"):
        res = _voiceguide(command, "no-such-pack", "--packs-dir", str(tmp_path), "--config",
                          _config(tmp_path))
        assert res.returncode == 1, res.stderr
        assert "cannot use pack 'no-such-pack'" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize("command", ["run", "serve"])
@pytest.mark.parametrize(("argv", "config_text", "expected"), [
    ([], "", True),
    (["--no-echo-cancel"], "", False),
    ([], "echo_cancel = false\n", False),
])
def test_echo_cancel_is_on_unless_turned_off(command: str, argv: list[str], config_text: str, expected: bool,
                                             tmp_path: Path) -> None:
    from voiceguide.cli import build_parser
    from voiceguide.cli.run import load_settings, run_settings
    from voiceguide.packs.loader import load_pack

    config_file = tmp_path / "config.toml"
    config_file.write_text(config_text, encoding="utf-8")
    args = build_parser().parse_args([command, "--config", str(config_file), *argv])
    config = load_settings(args)
    assert run_settings(config, args, load_pack("facial-massage")).echo_cancel is expected
