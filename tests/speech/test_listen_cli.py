"""`voiceguide listen --wav`: any rate and channel count in, one JSON object per command out."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
from audio_helpers import espeak, silence

from voiceguide.cli import main


def _write(path, samples: np.ndarray, rate: int, channels: int) -> None:
    from voiceguide.audio.clip import resample

    x = resample(samples.astype(np.float32) / 32768.0, 16000, rate)
    data = (np.clip(x, -1, 1) * 32767).astype("<i2")
    data = np.repeat(data[:, None], channels, axis=1)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(data.tobytes())


def test_listen_to_a_stereo_44k_file(tmp_path, capsys):
    audio = np.concatenate([silence(0.5), espeak("pause"), silence(1.0), espeak("yes"), silence(1.0)])
    path = tmp_path / "said.wav"
    _write(path, audio, 44100, 2)
    assert main(["listen", "--wav", str(path), "--engine", "pocketsphinx", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [d["command"] for d in lines] == ["pause", "yes"]
    for d in lines:
        assert {"command", "text", "confidence", "start", "end"} <= d.keys()
        assert 0 < d["start"] < d["end"] < len(audio) / 16000


def test_listen_korean_with_vosk(tmp_path, capsys):
    audio = np.concatenate([silence(0.5), espeak("계속", "ko+f3"), silence(1.0)])
    path = tmp_path / "ko.wav"
    _write(path, audio, 22050, 1)
    assert main(["listen", "--wav", str(path), "--language", "ko", "--json"]) == 0
    assert [json.loads(x)["command"] for x in capsys.readouterr().out.splitlines()] == ["resume"]


def test_auto_falls_back_to_pocketsphinx_with_a_notice(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("VOICEGUIDE_DATA_DIR", str(tmp_path))
    path = tmp_path / "quiet.wav"
    _write(path, silence(1.0), 16000, 1)
    assert main(["listen", "--wav", str(path)]) == 0
    err = capsys.readouterr().err
    if not any((Path(__file__).resolve().parents[2] / "models").glob("*en-us*")):
        assert "using the built-in English recognizer (pocketsphinx)" in err and "voiceguide model fetch" in err


def test_a_file_that_is_not_audio_is_one_clear_error(tmp_path, capsys):
    path = tmp_path / "notes.wav"
    path.write_text("these are not samples")
    assert main(["listen", "--wav", str(path)]) == 1
    err = capsys.readouterr().err
    assert "not a WAV audio file" in err and "Traceback" not in err
    assert main(["listen", "--wav", str(tmp_path / "missing.wav")]) == 1
    assert "no such file" in capsys.readouterr().err
