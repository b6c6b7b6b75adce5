"""`voiceguide run` end to end in the modes this machine offers: console, and WAV in → WAV out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from voiceguide.audio.clip import read_wav, resample, write_wav
from voiceguide.runtime.plan import IoPlan, RunSettings, plan_io

ROOT = Path(__file__).resolve().parents[2]


def voiceguide(*args: str, stdin: str = "", env: dict[str, str] | None = None,
               timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess with no sound devices (no PulseAudio/ALSA config is passed on)."""
    clean = {k: v for k, v in os.environ.items() if k not in ("PULSE_SERVER", "ALSA_CONFIG_PATH")}
    clean.update(env or {})
    return subprocess.run([sys.executable, "-m", "voiceguide", *args], input=stdin, capture_output=True,
                          text=True, timeout=timeout, env=clean, cwd=ROOT)


def events(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def test_console_fallback_walks_and_saves_the_place(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    proc = voiceguide("run", "--data-dir", data, "--json", stdin="next\nnext\nstop\nyes\n")
    assert proc.returncode == 0, proc.stderr
    assert "No microphone" in proc.stderr and "No speaker" in proc.stderr
    assert "Traceback" not in proc.stderr
    out = events(proc.stdout)
    says = [e["text"] for e in out if e["type"] == "say" and e.get("kind") == "say"]
    assert says[0].startswith("Welcome.")
    assert [e["command"] for e in out if e["type"] == "command"] == ["next", "next", "stop", "yes"]
    yes = max(i for i, e in enumerate(out) if e["type"] == "command")
    assert any(e.get("state") == "stopped" for e in out[yes:])  # each command's line comes before what it caused
    assert not any(e.get("state") == "stopped" for e in out[:yes])

    # "resume" next time continues at the step where the person stopped
    again = voiceguide("run", "--data-dir", data, "--json", stdin="resume\n")
    assert again.returncode == 0, again.stderr
    hints = [e["text"] for e in events(again.stdout) if e.get("kind") == "hint"]
    assert any("You stopped at step 2, Warm the oil" in h for h in hints)
    states = [e for e in events(again.stdout) if e["type"] == "state"]
    assert any("Warm the oil" in str(e.get("text", "")) for e in states)


def test_unknown_typed_word_is_a_hint_not_a_crash(tmp_path: Path) -> None:
    proc = voiceguide("run", "--console", "--data-dir", str(tmp_path), stdin="banana\nstop\nyes\n")
    assert proc.returncode == 0
    assert "not a command: 'banana'" in proc.stdout


def test_wav_in_wav_out_follows_the_input_timeline(tmp_path: Path) -> None:
    silence = tmp_path / "in.wav"
    write_wav(silence, np.zeros(16000 * 20, dtype=np.int16), 16000)
    out = tmp_path / "out.wav"
    proc = voiceguide("run", "--input-wav", str(silence), "--output-wav", str(out), "--fast",
                      "--data-dir", str(tmp_path / "data"), "--cache-dir", str(tmp_path / "cache"), "--json")
    assert proc.returncode == 0, proc.stderr
    with wave.open(str(out)) as w:
        rate = w.getframerate()
        audio = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768
    assert abs(len(audio) / rate - 20.0) < 0.05  # the output covers exactly the input's 20 s
    first = events(proc.stdout)
    says = [e for e in first if e["type"] == "say"]
    assert says and all(float(e["t"]) <= 20.0 for e in says)
    # the narration is really in the file: loud where the first sentence plays, near silent before the end
    start = int(float(says[0]["t"]) * rate)
    assert np.sqrt(np.mean(audio[start:start + rate] ** 2)) > 0.01


def test_explicit_missing_device_is_one_clear_error(tmp_path: Path) -> None:
    proc = voiceguide("run", "--input-device", "usb mic", "--data-dir", str(tmp_path))
    assert proc.returncode == 1
    assert proc.stderr.count("\n") <= 3 and "Traceback" not in proc.stderr
    assert "input device" in proc.stderr


def test_broken_config_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('volume = 3\nengin = "vosk"\n')
    proc = voiceguide("run", "--config", str(config), "--data-dir", str(tmp_path))
    assert proc.returncode == 1
    assert f"{config}:1: volume" in proc.stderr
    assert "engin: unknown key (did you mean 'engine'?)" in proc.stderr


@pytest.mark.parametrize(("kwargs", "probe", "expected"), [
    ({}, {"input": None, "output": None}, IoPlan("mic", "device")),
    ({}, {"input": "no mic", "output": None}, IoPlan("keyboard", "device", ("No microphone (no mic): type the "
                                                                           "commands instead.",))),
    ({"console": True}, {"input": None, "output": None}, IoPlan("keyboard", "print")),
    ({"input_wav": Path("x.wav"), "fast": True}, {"input": None, "output": None}, IoPlan("wav", "print")),
    ({"input_wav": Path("x.wav"), "output_wav": Path("y.wav")}, {"input": "x", "output": "x"}, IoPlan("wav", "wav")),
])
def test_plan_io(kwargs: dict[str, object], probe: dict[str, str | None], expected: IoPlan) -> None:
    assert plan_io(RunSettings(**kwargs), lambda direction, spec: probe[direction]) == expected  # type: ignore[arg-type]


def test_plan_io_explicit_device_missing_raises() -> None:
    with pytest.raises(ValueError, match="gone"):
        plan_io(RunSettings(output_device="usb", output_device_explicit=True),
                lambda direction, spec: "gone" if direction == "output" else None)


def espeak16k(text: str, path: Path, voice: str = "en-us", speed: int = 140) -> np.ndarray:
    """What espeak-ng says, as 16 kHz float samples (the file is kept at `path`)."""
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text], check=True, timeout=30)
    clip = read_wav(path)
    return resample(clip.samples, clip.sample_rate, 16000)


def test_spoken_commands_in_an_input_wav_act_at_their_time(tmp_path: Path) -> None:
    """A "pause" spoken 10 s into the file pauses the session 10 s in; "resume" at 18 s resumes it."""
    rate = 16000
    audio = np.zeros(rate * 26, dtype=np.float32)
    for word, at in (("pause", 10.0), ("resume", 18.0)):
        clip = espeak16k(word, tmp_path / f"{word}.wav")
        audio[int(at * rate): int(at * rate) + len(clip)] += clip
    source = tmp_path / "in.wav"
    write_wav(source, audio, rate)
    out = tmp_path / "out.wav"
    proc = voiceguide("run", "--input-wav", str(source), "--output-wav", str(out), "--fast", "--tts", "pyttsx3",
                      "--data-dir", str(tmp_path / "data"), "--cache-dir", str(tmp_path / "cache"), "--json")
    assert proc.returncode == 0, proc.stderr
    commands = [(e["command"], float(e["t"])) for e in events(proc.stdout) if e["type"] == "command"]
    assert [c for c, _ in commands] == ["pause", "resume"]
    (_, t_pause), (_, t_resume) = commands
    assert 10.0 < t_pause < 11.5 and 18.0 < t_resume < 19.5  # the file's timeline is the session's
    with wave.open(str(out)) as w:
        played = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768
        out_rate = w.getframerate()

    def rms(t0: float, t1: float) -> float:
        return float(np.sqrt(np.mean(played[int(t0 * out_rate):int(t1 * out_rate)] ** 2)))

    assert rms(1.0, 9.0) > 0.01  # narration before the pause
    assert rms(t_pause + 4.0, t_resume) < 0.001  # silent while paused (after the short "Paused…" hint)
    assert rms(t_resume + 0.5, 26.0) > 0.01  # narration again after resume
