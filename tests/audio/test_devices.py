"""Device listing and picking, on the virtual devices and on a machine with none."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from voiceguide.audio.devices import DeviceError, DeviceInfo, find_device, list_devices
from voiceguide.cli import main


def test_virtual_devices_are_listed_with_defaults(virtual_audio: object) -> None:
    devices = list_devices()
    names = {d.name for d in devices}
    assert {"vmic", "vmic_feed", "vspeaker", "vspeaker_mon"} <= names
    assert sum(d.default_input for d in devices) == 1 and sum(d.default_output for d in devices) == 1
    assert all(d.default_samplerate > 0 for d in devices)


def test_find_by_index_name_case_and_unique_part(virtual_audio: object) -> None:
    devices = list_devices()
    vmic = next(d for d in devices if d.name == "vmic")
    assert find_device("vmic", "input", devices) == vmic  # exact beats the longer 'vmic_feed'
    assert find_device(str(vmic.index), "input", devices) == vmic
    assert find_device(vmic.index, "input", devices) == vmic
    assert find_device("VSPEAKER_MON", "input", devices).name == "vspeaker_mon"
    assert find_device("_feed", "output", devices).name == "vmic_feed"
    assert find_device(None, "output", devices).default_output


def test_picking_errors_name_the_devices_that_exist() -> None:
    devices = [
        DeviceInfo(0, "USB Mic (hw:1,0)", "ALSA", 1, 0, 48000.0, default_input=True),
        DeviceInfo(1, "USB Mic Array (hw:2,0)", "ALSA", 4, 0, 16000.0),
        DeviceInfo(2, "Headphones (hw:0,0)", "ALSA", 0, 2, 48000.0, default_output=True),
    ]
    with pytest.raises(DeviceError, match=r"several input devices .*0 'USB Mic \(hw:1,0\)', 1 'USB Mic Array"):
        find_device("usb mic", "input", devices)
    with pytest.raises(DeviceError, match=r"no input device named 'webcam'; input devices: 0 'USB Mic"):
        find_device("webcam", "input", devices)
    with pytest.raises(DeviceError, match=r"device 2 'Headphones \(hw:0,0\)' has no input"):
        find_device(2, "input", devices)
    with pytest.raises(DeviceError, match=r"no output device with index 7; output devices: 2 'Headphones"):
        find_device("7", "output", devices)
    with pytest.raises(DeviceError, match="this machine has no output device"):
        find_device("x", "output", devices[:2])
    assert find_device("array", "input", devices).index == 1


def test_devices_command_marks_what_run_would_use(virtual_audio: object, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["devices", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert any(d["name"] == "vspeaker" for d in listed)
    assert main(["devices"]) == 0
    out = capsys.readouterr().out
    assert "vspeaker_mon" in out and "*in" in out and "*out" in out


def test_devices_command_on_a_machine_without_sound() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PULSE_SERVER", "ALSA_CONFIG_PATH")}
    env["PULSE_SERVER"] = "unix:/nonexistent/voiceguide-test"
    proc = subprocess.run([sys.executable, "-m", "voiceguide", "devices"], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "No audio devices" in proc.stdout or "No default" in proc.stdout


def test_a_rate_the_device_accepts(virtual_audio: object) -> None:
    from voiceguide.audio.devices import supported_rate

    vmic = find_device("vmic", "input")
    assert supported_rate(vmic, "input") == int(vmic.default_samplerate)
    assert supported_rate(vmic, "input", 16000) == 16000
    with pytest.raises(DeviceError, match="opens at none of these rates"):
        supported_rate(vmic, "input", 10)


def test_devices_command_marks_the_configured_devices(virtual_audio: object, tmp_path,  # type: ignore[no-untyped-def]
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text('input_device = "vspeaker_mon"\noutput_device = "vmic_feed"\n', encoding="utf-8")
    assert main(["devices", "--json", "--config", str(config)]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [d["name"] for d in listed if d["run_input"]] == ["vspeaker_mon"]
    assert [d["name"] for d in listed if d["run_output"]] == ["vmic_feed"]
    config.write_text('output_device = "hdmi"\n', encoding="utf-8")
    assert main(["devices", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "config output_device: no output device named 'hdmi'" in out


def test_native_noise_is_filtered_while_reopening_and_other_output_passes(capfd: pytest.CaptureFixture[str]) -> None:
    from voiceguide.audio.devices import native_noise_filtered

    with native_noise_filtered():
        os.write(2, b"Expression 'ret' failed in 'src/hostapi/alsa/pa_linux_alsa.c', line: 1736\n")
        os.write(2, b"ALSA lib pulse.c:242:(pulse_connect) PulseAudio: Unable to connect: Connection refused\n\n")
        os.write(2, b"voiceguide: something that matters\n")
    os.write(2, b"after\n")
    err = capfd.readouterr().err
    assert err == "voiceguide: something that matters\nafter\n"
