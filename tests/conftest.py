"""Shared fixtures and markers: virtual sound devices (a private PulseAudio started by scripts/virtual-audio-up.sh) for
tests that use real PortAudio streams, and `@pytest.mark.corpus` for tests that need the workspace speech corpus."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
AUDIO_SCRIPTS = ROOT / "scripts"
"""Where virtual-audio-up.sh and virtual-audio-down.sh live (docs/virtual-audio.md)."""


def pytest_configure(config: pytest.Config) -> None:
    """Register the corpus marker (warnings are errors here, an unknown marker among them)."""
    config.addinivalue_line("markers", "corpus: needs the human clips and noise of the workspace speech corpus")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip a corpus test, in one line, where the corpus is not beside the checkout (a stranger's clone)."""
    if item.get_closest_marker("corpus") is None:
        return
    from audio_helpers import CORPUS, corpus_available

    if not corpus_available():
        pytest.skip(f"needs the speech corpus, not found at {CORPUS} (set VOICEGUIDE_CORPUS)")


@dataclass
class VirtualAudio:
    """The running daemon: its runtime dir and the environment PortAudio needs."""

    va_dir: Path
    env: dict[str, str]

    def down(self) -> None:
        """Stop the daemon (a device disappearing)."""
        subprocess.run(["bash", str(AUDIO_SCRIPTS / "virtual-audio-down.sh")],
                       env={**os.environ, "VA_DIR": str(self.va_dir)},
                       check=False, timeout=30, capture_output=True)

    def up(self) -> None:
        """Start it again (the device comes back)."""
        _start(self.va_dir)


def _start(va_dir: Path) -> dict[str, str]:
    """Run the up script; the environment it prints (PULSE_SERVER, ALSA_CONFIG_PATH)."""
    proc = subprocess.run(
        ["bash", str(AUDIO_SCRIPTS / "virtual-audio-up.sh")],
        env={**os.environ, "VA_DIR": str(va_dir)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip() or f"exit code {proc.returncode}")
    env = {}
    for line in proc.stdout.splitlines():
        if line.startswith("export ") and "=" in line:
            key, value = line[len("export "):].split("=", 1)
            env[key] = value
    return env


@pytest.fixture(scope="session")
def virtual_audio() -> Iterator[VirtualAudio]:
    """A private PulseAudio with vmic, vmic_feed, vspeaker, vspeaker_mon; skips only if it cannot start."""
    if shutil.which("pulseaudio") is None or shutil.which("pactl") is None:
        pytest.skip("virtual audio unavailable: pulseaudio / pulseaudio-utils are not installed")
    # A private daemon per test session: other sessions on this machine may use the default one.
    va_dir = Path(tempfile.mkdtemp(prefix="vg-va-", dir="/tmp"))
    saved = {k: os.environ.get(k) for k in ("PULSE_SERVER", "ALSA_CONFIG_PATH")}
    try:
        env = _start(va_dir)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"virtual audio could not start: {exc}")
    os.environ.update(env)
    if "sounddevice" in sys.modules:  # imported before us: make PortAudio look again
        from voiceguide.audio.devices import rescan

        rescan()
    va = VirtualAudio(va_dir, env)
    try:
        yield va
    finally:
        va.down()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(va_dir, ignore_errors=True)


@dataclass
class Capture:
    """What an input device heard, with the clock time of every sample."""

    rate: int
    blocks: list[tuple[float, np.ndarray]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def samples(self) -> tuple[np.ndarray, np.ndarray]:
        """All samples and their (approximate) clock times."""
        with self.lock:
            blocks = list(self.blocks)
        if not blocks:
            return np.zeros(0, np.float32), np.zeros(0)
        x = np.concatenate([b for _, b in blocks])
        t = np.concatenate([tcb - (len(b) - np.arange(len(b))) / self.rate for tcb, b in blocks])
        return x, t

    def rms_between(self, t0: float, t1: float) -> float:
        """Loudness of what was heard between two clock times."""
        x, t = self.samples()
        sel = x[(t >= t0) & (t < t1)]
        return float(np.sqrt(np.mean(sel**2))) if sel.size else 0.0

    def last_loud(self, threshold: float = 0.01, frame: float = 0.005) -> float | None:
        """Clock time of the last 5 ms frame louder than `threshold`."""
        x, t = self.samples()
        n = max(1, int(frame * self.rate))
        m = len(x) // n
        if m == 0:
            return None
        rms = np.sqrt(np.mean(x[: m * n].reshape(m, n) ** 2, axis=1))
        loud = np.nonzero(rms > threshold)[0]
        return float(t[loud[-1] * n + n - 1]) if loud.size else None


@pytest.fixture
def capture(virtual_audio: VirtualAudio) -> Iterator[object]:
    """Start recording a device: `with capture("vspeaker_mon") as cap: ...`."""
    import contextlib

    import sounddevice as sd

    @contextlib.contextmanager
    def _capture(device: str = "vspeaker_mon", rate: int = 16000) -> Iterator[Capture]:
        cap = Capture(rate)

        def callback(indata: np.ndarray, frames: int, time_info: object, status: object) -> None:
            with cap.lock:
                cap.blocks.append((time.monotonic(), indata[:, 0].copy()))

        with sd.InputStream(device=device, samplerate=rate, channels=1, dtype="float32",
                            callback=callback, latency="low"):
            time.sleep(0.2)  # let the capture settle
            yield cap

    yield _capture


def _pactl(env: dict[str, str], *args: str) -> str:
    return subprocess.run(["pactl", *args], env={**os.environ, **env}, capture_output=True, text=True,
                          check=True, timeout=30).stdout.strip()


@pytest.fixture
def mic_hears_speaker(virtual_audio: VirtualAudio) -> Iterator[None]:
    """The virtual mic hears the virtual speaker (6 dB down, ~30 ms late), as in one small box."""
    env = virtual_audio.env
    module = _pactl(env, "load-module", "module-loopback", "source=speaker.monitor", "sink=vmic_sink",
                    "latency_msec=30", "source_dont_move=true", "sink_dont_move=true")
    try:
        for line in _pactl(env, "list", "short", "sink-inputs").splitlines():
            fields = line.split("\t")
            if len(fields) > 2 and fields[2] == module:
                _pactl(env, "set-sink-input-volume", fields[0], "-6dB")
        time.sleep(0.5)  # let the loopback settle
        yield
    finally:
        _pactl(env, "unload-module", module)
