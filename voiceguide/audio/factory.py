"""The one place `run` gets its audio ends: a file, a named device, the default device, or nothing.

No device and none asked for → None (the caller falls back to the console, saying so in one line).
A device asked for by name or index that does not exist → `DeviceError` naming those that exist.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from voiceguide.audio.devices import AudioUnavailable, DeviceError, DeviceInfo, Direction, find_device
from voiceguide.audio.player import AudioSink, Player, PlayerSettings, WavSink
from voiceguide.audio.source import AudioSource, MicSettings, MicSource, WavFileSource
from voiceguide.core.events import DeviceStatus

__all__ = ["NoDevice", "open_sink", "open_source", "pick_device"]

_LOGGER = logging.getLogger(__name__)


class NoDevice(Exception):
    """No device of that direction here and none was asked for: use the console instead (message says why)."""


def pick_device(spec: str | int | None, direction: Direction) -> DeviceInfo:
    """The named device (DeviceError if missing) or the default one (NoDevice if there is none)."""
    try:
        return find_device(spec, direction)
    except AudioUnavailable as exc:
        if spec is not None:
            raise DeviceError(f"cannot use {direction} device {spec!r}: {exc}") from exc
        raise NoDevice(f"no audio system ({exc})") from exc
    except DeviceError as exc:
        if spec is not None:
            raise
        raise NoDevice(f"no {direction} device") from exc


def open_source(
    *,
    device: str | int | None = None,
    wav: str | Path | None = None,
    fast: bool = False,
    on_status: Callable[[DeviceStatus], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    settings: MicSettings | None = None,
) -> AudioSource:
    """`--input-wav` (paced or `--fast`), else the microphone; raises NoDevice or DeviceError."""
    if wav is not None:
        return WavFileSource(wav, fast=fast, clock=clock)
    picked = pick_device(device, "input")
    base = settings or MicSettings()
    mic_settings = MicSettings(**{**base.__dict__, "device": picked.index})
    return MicSource(mic_settings, on_status=on_status, clock=clock)


def open_sink(
    *,
    device: str | int | None = None,
    wav: str | Path | None = None,
    clock: Callable[[], float] = time.monotonic,
    realtime: bool = True,
    on_status: Callable[[DeviceStatus], None] | None = None,
    settings: PlayerSettings | None = None,
) -> AudioSink:
    """`--output-wav` (following `clock`; `realtime=False` when the caller advances it), else the speaker."""
    base = settings or PlayerSettings()
    if wav is not None:
        return WavSink(wav, clock, volume=base.volume, realtime=realtime)
    picked = pick_device(device, "output")
    return Player(PlayerSettings(**{**base.__dict__, "device": picked.index}), clock, on_status=on_status)
