"""`voiceguide doctor`: what a speaker owner runs first when something is wrong — each problem with its fix.

Checks, in the order a problem in one would confuse the next: config file, pack, disk, narration engine,
recognition model, microphone (records a second and measures the level), speaker (plays a short tone).
Exit 0 when nothing failed (warnings allowed), 1 when something must be fixed.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from voiceguide.cli import checks
from voiceguide.config import Config, ConfigError, default_config_path, load_config

__all__ = ["DoctorSettings", "Finding", "register", "run_checks"]

OK, WARN, FAIL = "ok", "warn", "FAIL"

_BUSY_FIX = ("another program may hold it — the voiceguide service itself: `sudo systemctl stop voiceguide`, "
             "run doctor, `sudo systemctl start voiceguide` (see `fuser -v /dev/snd/*`); else unplug and replug it")


@dataclass(frozen=True)
class Finding:
    """The outcome of one check, with the fix when there is a problem."""

    check: str
    status: str
    """'ok', 'warn' or 'FAIL'."""
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class DoctorSettings:
    """What the doctor checks and how hard."""

    config_path: Path | None = None
    """The config file (None: the default one; a missing default file means defaults)."""
    data_dir: Path | None = None
    """Overrides the config's data_dir (history, checkpoints, models)."""
    min_free_mb: float = 50.0
    """Less free space than this on the data dir's disk is a failure (history writes would fail)."""
    low_free_mb: float = 200.0
    """Less than this is a warning."""
    mic_seconds: float = 1.0
    """How long the microphone is recorded."""
    sound: bool = True
    """Record the microphone and play a tone on the speaker (off: only check that the devices exist)."""


def _check_config(settings: DoctorSettings) -> tuple[Finding, Config]:
    path = settings.config_path or default_config_path()
    try:
        config = load_config(settings.config_path)
    except ConfigError as exc:
        return Finding("config", FAIL, str(exc),
                       f"edit {path} (every key and its default: README, 'Running on a Raspberry Pi'), "
                       "or delete the file to use the defaults"), Config()
    where = str(path) if path.is_file() else f"no file at {path}: the defaults are used"
    return Finding("config", OK, where), config


def _check_pack(config: Config) -> tuple[Finding, str]:
    from voiceguide.packs.loader import PackError, load_pack

    try:
        loaded = load_pack(config.pack)
    except PackError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "unreadable"
        return Finding("pack", FAIL, f"cannot use pack {config.pack!r}: {first}",
                       f"`voiceguide pack check {config.pack}` lists every problem; or set pack = \"facial-massage\""
                       ), "en-US"
    return Finding("pack", OK, f"{loaded.pack.pack.id} ({loaded.pack.pack.language})"), loaded.pack.pack.language


def _existing_parent(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_disk(settings: DoctorSettings, config: Config) -> Finding:
    from voiceguide.paths import user_data_dir

    data = settings.data_dir or (Path(config.data_dir).expanduser() if config.data_dir else user_data_dir())
    base = _existing_parent(data)
    if not base.is_dir():
        return Finding("disk", FAIL, f"the data dir {data} cannot be made: {base} is not a folder",
                       "set data_dir in the config file to a folder (or remove the file in its way)")
    free_mb = shutil.disk_usage(base).free / 2**20
    try:
        with tempfile.NamedTemporaryFile(dir=base, prefix=".voiceguide-doctor-"):
            pass
    except OSError as exc:
        return Finding("disk", FAIL, f"cannot write in {base}: {exc.strerror}",
                       f"make it writable for this user (the Pi service: sudo chown -R voiceguide: {base})")
    detail = f"{data}: {free_mb:,.0f} MB free"
    if free_mb < settings.min_free_mb:
        return Finding("disk", FAIL, detail + f" (under {settings.min_free_mb:.0f} MB: history writes will fail)",
                       "free space: `sudo apt clean`, `sudo journalctl --vacuum-size=50M`, and delete the "
                       "narration cache (~/.cache/voiceguide, or /var/cache/voiceguide for the service)")
    if free_mb < settings.low_free_mb:
        return Finding("disk", WARN, detail + " (low)", "free some space soon (`sudo apt clean`)")
    return Finding("disk", OK, detail)


def _check_tts(config: Config, language: str) -> Finding:
    from voiceguide.audio.clip import read_wav
    from voiceguide.voice.factory import resolve_engine
    from voiceguide.voice.narrator import Narrator, NarratorSettings

    try:
        engine = resolve_engine(config.tts, language, config.voice)  # the engine `run` would pick
    except Exception as exc:  # a broken optional engine must not hide the rest of the report
        return Finding("tts", FAIL, f"cannot choose a narration engine for tts = {config.tts!r}: {exc}",
                       "set tts = \"pyttsx3\" in the config file")
    fix = ("install the speech engine: sudo apt install espeak-ng" if engine == "pyttsx3"
           else f"install {engine} (the neural extra) or set tts = \"pyttsx3\" in the config file")
    with tempfile.TemporaryDirectory(prefix="voiceguide-doctor-") as tmp:
        try:
            with Narrator(NarratorSettings(engine=engine, voice=config.voice, language=language,
                                           cache_dir=Path(tmp), cache_max_bytes=None)) as narrator:
                clip = read_wav(narrator.render("ready"))
        except Exception as exc:  # any engine failure is the finding itself
            return Finding("tts", FAIL, f"{engine} cannot speak: {exc}", fix)
    if clip.duration <= 0.05 or float(abs(clip.samples).max(initial=0.0)) < 1e-3:
        return Finding("tts", FAIL, f"{engine} rendered silence", fix)
    return Finding("tts", OK, f"{engine} said 'ready' ({clip.duration:.2f} s)")


def _check_model(config: Config, language: str) -> Finding:
    from voiceguide.speech.base import EngineUnavailable, RecognitionSettings
    from voiceguide.speech.factory import choose_engine

    lang = config.language or language
    try:
        engine, model, notice = choose_engine(RecognitionSettings(
            engine=config.engine, language=lang, model=Path(config.model) if config.model else None,
            env=dict(os.environ)))
    except EngineUnavailable as exc:
        return Finding("model", FAIL, str(exc),
                       "`voiceguide model list` shows what is installed and what can be fetched; "
                       "or set engine = \"auto\" in the config file")
    if engine == "vosk":
        if importlib.util.find_spec("vosk") is None:
            return Finding("model", FAIL, f"model {model} found but the vosk package is missing",
                           "reinstall: sudo scripts/install-pi.sh (or pip install vosk)")
        return Finding("model", OK, f"vosk, {model}")
    try:
        import pocketsphinx

        sphinx_model = Path(pocketsphinx.get_model_path())
    except ImportError:
        return Finding("model", FAIL, "no vosk model and the pocketsphinx package is missing",
                       "reinstall: sudo scripts/install-pi.sh (or pip install pocketsphinx)")
    if not sphinx_model.is_dir():
        return Finding("model", FAIL, f"pocketsphinx's English model is missing ({sphinx_model})",
                       "reinstall pocketsphinx: pip install --force-reinstall pocketsphinx")
    if importlib.util.find_spec("onnxruntime") is None:
        return Finding("model", WARN, "pocketsphinx without its verifier (the onnxruntime package is missing): "
                       "fewer commands are heard", "on a 64-bit OS: pip install onnxruntime; or fetch a vosk model")
    if notice is not None:
        return Finding("model", WARN, f"no vosk model for {lang}: the built-in pocketsphinx recognizer is used",
                       "for better hearing, when online: voiceguide model fetch vosk-model-small-en-us-0.15")
    return Finding("model", OK, "pocketsphinx (built-in English model, with its verifier)")


def _device(config: Config, direction: str) -> tuple[object | None, Finding | None]:
    from voiceguide.audio.devices import AudioUnavailable, DeviceError, find_device

    what = "microphone" if direction == "input" else "speaker"
    spec = config.input_device if direction == "input" else config.output_device
    key = "input_device" if direction == "input" else "output_device"
    try:
        return find_device(spec, direction), None  # type: ignore[arg-type]
    except AudioUnavailable as exc:
        return None, Finding(what, FAIL, str(exc), "sudo apt install libportaudio2")
    except DeviceError as exc:
        return None, Finding(what, FAIL, str(exc),
                             f"plug the USB {what} in (then `voiceguide devices`), or set {key} in the config "
                             "file to one of those listed")


def _level_db(rms: float) -> float:
    return 20 * math.log10(rms) if rms > 0 else -math.inf


def _check_mic(settings: DoctorSettings, config: Config) -> Finding:
    device, problem = _device(config, "input")
    if problem is not None:
        return problem
    name = getattr(device, "name", "?")
    if not settings.sound:
        return Finding("microphone", OK, f"{name} (not recorded: --no-sound)")
    import numpy as np

    from voiceguide.audio.devices import DeviceError
    from voiceguide.audio.source import MicSettings, MicSource

    try:
        source = MicSource(MicSettings(device=config.input_device))
    except DeviceError as exc:
        return Finding("microphone", FAIL, f"{name} does not open: {exc}",
                       _BUSY_FIX)
    chunks: list[np.ndarray] = []
    try:
        got = 0.0
        deadline = time.monotonic() + settings.mic_seconds + 3.0
        while got < settings.mic_seconds and time.monotonic() < deadline:
            chunk = source.read(timeout=0.5)
            if chunk is not None:
                chunks.append(chunk.samples)
                got += chunk.duration
    finally:
        source.close()
    if not chunks:
        return Finding("microphone", FAIL, f"{name} opened but delivered no sound in {settings.mic_seconds + 3:.0f} s",
                       "unplug and plug the microphone back in; check `arecord -l` lists it")
    samples = np.concatenate(chunks).astype(np.float64) / 32768.0
    rms = float(np.sqrt(np.mean(samples**2)))
    peak = float(np.max(np.abs(samples)))
    level = f"{name}: level {_level_db(rms):.0f} dBFS, peak {_level_db(peak):.0f} dBFS over {got:.1f} s"
    if peak == 0.0:
        return Finding("microphone", FAIL, level + " (pure silence: muted?)",
                       "unmute the capture: `alsamixer` → F4 (Capture) → select the mic, press M or space")
    if _level_db(rms) < -65:
        return Finding("microphone", WARN, level + " (very quiet)",
                       "raise the capture level: `alsamixer` → F4 (Capture); or move the mic closer")
    if np.mean(np.abs(samples) > 0.99) > 0.001:
        return Finding("microphone", WARN, level + " (clipping)", "lower the capture level in `alsamixer` → F4")
    return Finding("microphone", OK, level)


def _check_speaker(settings: DoctorSettings, config: Config) -> Finding:
    device, problem = _device(config, "output")
    if problem is not None:
        return problem
    name = getattr(device, "name", "?")
    if not settings.sound:
        return Finding("speaker", OK, f"{name} (not played: --no-sound)")
    import numpy as np

    from voiceguide.audio.clip import Clip
    from voiceguide.audio.devices import DeviceError
    from voiceguide.audio.player import Player, PlayerSettings

    rate = 16000
    t = np.arange(int(0.3 * rate)) / rate
    tone = (0.3 * np.sin(2 * np.pi * 660 * t) * np.minimum(1.0, np.minimum(t, t[::-1]) / 0.02)).astype(np.float32)
    try:
        player = Player(PlayerSettings(device=config.output_device, volume=config.volume))
    except DeviceError as exc:
        return Finding("speaker", FAIL, f"{name} does not open: {exc}",
                       _BUSY_FIX)
    try:
        player.play(Clip(tone, rate, "doctor tone", "chime"))
        played = player.wait_idle(timeout=5.0)
    finally:
        player.close()
    if not played:
        return Finding("speaker", FAIL, f"{name} took the tone but did not play it within 5 s",
                       "unplug and plug the speaker back in; check `aplay -l` lists it")
    hint = "" if config.volume > 0.05 else " (volume is 0: set volume in the config file)"
    return Finding("speaker", WARN if hint else OK, f"{name}: played a 0.3 s tone at volume {config.volume:g}{hint}",
                   f"set volume = {Config().volume:g} in the config file" if hint else "")


def run_checks(settings: DoctorSettings, report: Callable[[Finding], None]) -> list[Finding]:
    """Every check in order; each finding goes to `report` as soon as it is known."""
    findings: list[Finding] = []

    def add(f: Finding) -> None:
        findings.append(f)
        report(f)

    config_finding, config = _check_config(settings)
    add(config_finding)
    pack_finding, language = _check_pack(config)
    add(pack_finding)
    add(_check_disk(settings, config))
    add(_check_tts(config, language))
    add(_check_model(config, language))
    add(_check_mic(settings, config))
    add(_check_speaker(settings, config))
    return findings


def register(sub: argparse._SubParsersAction, groups: dict[str, argparse._SubParsersAction]) -> None:
    """Add `doctor`."""
    p = sub.add_parser("doctor", help="check config, disk, narration, model, microphone and speaker; print fixes")
    p.add_argument("--config", type=checks.config_file, default=None,
                   help="config file (default: the user config dir's)")
    # not checked here: a data dir that cannot be made is the disk check's finding, with its fix
    p.add_argument("--data-dir", type=Path, default=None, help="where history is kept (default: the config's)")
    p.add_argument("--no-sound", action="store_true", help="do not record the mic or play a tone")
    p.add_argument("--min-free-mb", type=checks.number(low=0, what="megabytes"),
                   default=DoctorSettings.min_free_mb,
                   help="less free disk than this is a failure (default: %(default)g)")
    p.set_defaults(handler=cmd_doctor)


def _print(f: Finding) -> None:
    mark = {OK: " ok ", WARN: "warn", FAIL: "FAIL"}[f.status]
    lines = f.detail.splitlines() or [""]
    print(f"[{mark}] {f.check:10} {lines[0]}", flush=True)
    for line in lines[1:]:
        print(f"{'':18}{line}")
    if f.fix:
        print(f"{'':18}fix: {f.fix}", flush=True)


def cmd_doctor(args: argparse.Namespace) -> int:
    """Run the checks, print each with its fix, end with a one-line verdict."""
    settings = DoctorSettings(config_path=args.config, data_dir=args.data_dir, sound=not args.no_sound,
                              min_free_mb=args.min_free_mb, low_free_mb=max(args.min_free_mb, 200.0))
    findings = run_checks(settings, _print)
    failed = [f.check for f in findings if f.status == FAIL]
    warned = [f.check for f in findings if f.status == WARN]
    if failed:
        print(f"{len(failed)} problem(s) to fix: {', '.join(failed)}")
        return 1
    print("all good" + (f" ({len(warned)} warning(s): {', '.join(warned)})" if warned else ""))
    return 0
