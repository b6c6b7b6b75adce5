"""Audio devices: list them, pick one by name or index, and say clearly which exist when a pick fails."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

__all__ = [
    "AudioUnavailable",
    "DeviceError",
    "DeviceInfo",
    "Direction",
    "find_device",
    "supported_rate",
    "import_sounddevice",
    "native_noise_filtered",
    "list_devices",
    "rescan",
]

_LOGGER = logging.getLogger(__name__)

Direction = Literal["input", "output"]


class AudioUnavailable(Exception):
    """No audio system at all here (PortAudio missing); the message says what to install."""


class DeviceError(Exception):
    """A device that was asked for does not exist or cannot be used; the message names those that exist."""


def import_sounddevice() -> ModuleType:
    """sounddevice, imported on first need (PortAudio scans devices at import time)."""
    try:
        import sounddevice
    except OSError as exc:
        raise AudioUnavailable(
            f"the PortAudio library is missing ({exc}); on Debian or Raspberry Pi OS: sudo apt install libportaudio2"
        ) from exc
    except ImportError as exc:
        raise AudioUnavailable("audio needs the 'sounddevice' package: pip install sounddevice") from exc
    return sounddevice


def rescan() -> None:
    """Make PortAudio look for devices again (a USB mic plugged in, a sound server started)."""
    sd = import_sounddevice()
    sd._terminate()
    sd._initialize()


@dataclass(frozen=True)
class DeviceInfo:
    """One device as PortAudio sees it."""

    index: int
    name: str
    hostapi: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float
    default_input: bool = False
    """The one `run` would listen to when no input device is named."""
    default_output: bool = False
    """The one `run` would speak through when no output device is named."""

    def can(self, direction: Direction) -> bool:
        """Whether it has channels in that direction."""
        return (self.max_input_channels if direction == "input" else self.max_output_channels) > 0


def list_devices() -> list[DeviceInfo]:
    """Every device, with the defaults marked."""
    sd = import_sounddevice()
    try:
        raw = sd.query_devices()
        hostapis = sd.query_hostapis()
    except sd.PortAudioError as exc:
        raise AudioUnavailable(f"cannot list audio devices: {exc}") from exc
    default_in, default_out = _defaults(sd)
    return [
        DeviceInfo(
            index=int(d["index"]),
            name=str(d["name"]),
            hostapi=str(hostapis[d["hostapi"]]["name"]),
            max_input_channels=int(d["max_input_channels"]),
            max_output_channels=int(d["max_output_channels"]),
            default_samplerate=float(d["default_samplerate"]),
            default_input=int(d["index"]) == default_in,
            default_output=int(d["index"]) == default_out,
        )
        for d in raw
    ]


def _defaults(sd: ModuleType) -> tuple[int, int]:
    """PortAudio's default input and output indices (-1 when there is none)."""
    result = []
    for kind in ("input", "output"):
        try:
            result.append(int(sd.query_devices(kind=kind)["index"]))
        except (sd.PortAudioError, ValueError, TypeError, KeyError):
            result.append(-1)
    return result[0], result[1]


def _names(devices: list[DeviceInfo], direction: Direction) -> str:
    usable = [d for d in devices if d.can(direction)]
    if not usable:
        return f"this machine has no {direction} device"
    return f"{direction} devices: " + ", ".join(f"{d.index} {d.name!r}" for d in usable)


def find_device(
    spec: str | int | None, direction: Direction, devices: list[DeviceInfo] | None = None
) -> DeviceInfo:
    """The device `spec` names (index, exact name, or a unique part of a name), or the default one."""
    devices = list_devices() if devices is None else devices
    usable = [d for d in devices if d.can(direction)]
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        for d in usable:
            if d.default_input if direction == "input" else d.default_output:
                return d
        raise DeviceError(f"no default {direction} device; {_names(devices, direction)}")
    if isinstance(spec, int) or spec.strip().lstrip("-").isdigit():
        index = int(spec)
        for d in devices:
            if d.index == index:
                if not d.can(direction):
                    raise DeviceError(f"device {index} {d.name!r} has no {direction}; {_names(devices, direction)}")
                return d
        raise DeviceError(f"no {direction} device with index {index}; {_names(devices, direction)}")
    wanted = spec.strip()
    for test in (
        lambda d: d.name == wanted,
        lambda d: d.name.lower() == wanted.lower(),
        lambda d: d.name.lower().startswith(wanted.lower()),
        lambda d: wanted.lower() in d.name.lower(),
    ):
        found = [d for d in usable if test(d)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            names = ", ".join(f"{d.index} {d.name!r}" for d in found)
            raise DeviceError(f"{wanted!r} matches several {direction} devices ({names}); name one exactly or by index")
    raise DeviceError(f"no {direction} device named {wanted!r}; {_names(devices, direction)}")


COMMON_RATES = (48000, 44100, 32000, 22050, 16000)
"""Rates tried, in order, when a device's default rate does not open (some USB mics list a rate they refuse)."""


def open_stream(sd: ModuleType, device: DeviceInfo, direction: Direction, wanted_channels: int | None,
                **kwargs: object) -> tuple[Any, int]:
    """Open and start a mono stream, or stereo where the device refuses mono; (stream, channels) or DeviceError."""
    most = device.max_input_channels if direction == "input" else device.max_output_channels
    choices = [wanted_channels] if wanted_channels else [1, 2] if most >= 2 else [1]
    kind = sd.InputStream if direction == "input" else sd.OutputStream
    for channels in choices:
        try:
            stream = kind(device=device.index, channels=channels, dtype="float32", **kwargs)
            stream.start()
            return stream, channels
        except sd.PortAudioError as exc:
            if channels == choices[-1]:
                raise DeviceError(f"cannot open {direction} device {device.index} {device.name!r}: {exc}") from exc
            _LOGGER.info("%s device %r refused %d channel(s): %s", direction, device.name, channels, exc)
    raise AssertionError("unreachable: choices is never empty")


def supported_rate(device: DeviceInfo, direction: Direction, wanted: int | None = None) -> int:
    """A rate the device accepts for a mono stream: the wanted one, its default, or a common one."""
    sd = import_sounddevice()
    check = sd.check_input_settings if direction == "input" else sd.check_output_settings
    candidates = [int(wanted)] if wanted else []
    candidates += [int(device.default_samplerate), *COMMON_RATES]
    tried = []
    for rate in dict.fromkeys(candidates):
        try:
            check(device=device.index, channels=1, dtype="float32", samplerate=rate)
            if rate != candidates[0]:
                _LOGGER.info("%s device %r: using %d Hz (%s refused)", direction, device.name, rate, candidates[0])
            return rate
        except Exception as exc:  # noqa: BLE001 - PortAudioError or ValueError, same meaning here
            tried.append(f"{rate} Hz: {exc}")
            if wanted:  # a rate asked for explicitly is not replaced by another
                break
    raise DeviceError(f"{direction} device {device.index} {device.name!r} opens at none of these rates: "
                      + "; ".join(tried))


_NOISE = ("Expression '", "ALSA lib ", "PortAudio", "Cannot connect to server")
_FD2_LOCK = threading.Lock()
"""fd 2 is one per process: one filter at a time (the mic and the speaker may both be reopening)."""


@contextlib.contextmanager
def native_noise_filtered() -> Iterator[None]:
    """While reopening a lost device, keep PortAudio's and ALSA's C-level complaints off the terminal.

    They write straight to file descriptor 2, a few lines per failed attempt. For the duration, fd 2 is
    a pipe; lines that look like that noise go to the debug log, anything else is passed on unchanged.
    """
    with _FD2_LOCK:
        yield from _filtered()


def _filtered() -> Iterator[None]:
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        read_fd, write_fd = os.pipe()
    except OSError:  # no usable fd 2: nothing to filter
        yield
        return

    def pump() -> None:
        with os.fdopen(read_fd, "rb") as pipe:
            for raw in pipe:
                line = raw.decode("utf-8", "replace")
                if not line.strip() or line.lstrip().startswith(_NOISE):
                    _LOGGER.debug("native: %s", line.rstrip())
                else:
                    os.write(saved, raw)

    reader = threading.Thread(target=pump, daemon=True, name="stderr-filter")
    reader.start()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # closes the pipe's last write end: the reader sees EOF
        reader.join(timeout=1.0)
        os.close(saved)
