"""How `run` gets its audio: files, named devices, defaults, and the console fallback when there is nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from voiceguide.audio.clip import write_wav
from voiceguide.audio.devices import DeviceError
from voiceguide.audio.factory import NoDevice, open_sink, open_source, pick_device
from voiceguide.audio.player import Player, WavSink
from voiceguide.audio.source import MicSource, WavFileSource


def test_files_need_no_device(tmp_path: Path) -> None:
    wav = tmp_path / "in.wav"
    write_wav(wav, np.zeros(1600, np.float32), 16000)
    source = open_source(wav=wav, fast=True)
    assert isinstance(source, WavFileSource) and source.fast
    sink = open_sink(wav=tmp_path / "out.wav", clock=lambda: 0.0, realtime=False)
    assert isinstance(sink, WavSink)
    sink.close()


def test_named_and_default_devices_open(virtual_audio: object) -> None:
    mic = open_source(device="vmic")
    speaker = open_sink(device="vspeaker")
    try:
        assert isinstance(mic, MicSource) and mic.device.name == "vmic"
        assert isinstance(speaker, Player) and speaker.device.name == "vspeaker"
    finally:
        mic.close()
        speaker.close()
    assert pick_device(None, "input").default_input


def test_a_missing_named_device_is_an_error_naming_the_real_ones(virtual_audio: object) -> None:
    with pytest.raises(DeviceError, match="no input device named 'usb'.*vmic"):
        open_source(device="usb")
    with pytest.raises(DeviceError, match="no output device with index 99"):
        open_sink(device="99")


def test_no_device_and_none_asked_for_means_console(tmp_path: Path) -> None:
    # a fresh process whose PortAudio finds no sound server: nothing to open, no exception but NoDevice
    script = textwrap.dedent(
        """
        from voiceguide.audio.devices import DeviceError
        from voiceguide.audio.factory import NoDevice, open_sink, open_source
        for opener in (open_source, open_sink):
            try:
                opener()
            except NoDevice as exc:
                print("console:", exc)
        try:
            open_sink(device="vspeaker")
        except DeviceError as exc:
            print("error:", exc)
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PULSE_SERVER", "ALSA_CONFIG_PATH")}
    env["PULSE_SERVER"] = "unix:/nonexistent/voiceguide-test"
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60,
                          check=False)
    lines = proc.stdout.splitlines()
    assert lines[:2] == ["console: no input device", "console: no output device"], proc.stdout + proc.stderr
    assert lines[2].startswith("error: no output device named 'vspeaker'")
    assert NoDevice.__doc__
