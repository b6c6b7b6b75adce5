"""The primary engine: a vosk `KaldiRecognizer` restricted to the allowed command phrases.

Other speech is rejected by `[unk]` in the grammar when the model has that word, otherwise (e.g. the Korean
model) by word confidence alone. The grammar holds every command phrase, allowed or not: one not allowed in
the current state stays in as a rival so it is not misheard as an allowed one, and is dropped here. So the
grammar is set once, before any audio: vosk aborts the whole process (KaldiFatalError, "Can't add speaker
model to already running recognizer") when SetGrammar is called on a recognizer that has had audio, and
narrowing per state needs no new grammar anyway. A grammar-restricted vosk decoder rarely reaches its own endpoint
(its silence rules need silence in the grammar), so the segmenter (`vad.py`) ends each utterance; with
`[unk]` a one-word command acts on a stable partial result before that.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from voiceguide.core.commands import Command, Vocabulary, normalize
from voiceguide.core.events import Heard
from voiceguide.core.sound import SAMPLE_RATE
from voiceguide.speech.base import EngineUnavailable, RecognitionSettings, as_int16
from voiceguide.speech.vad import FRAME, Segmenter, VadSettings, webrtc_vad

__all__ = ["VoskModel", "VoskRecognizer", "load_vosk_model"]

_LOGGER = logging.getLogger(__name__)

UNK = "[unk]"


class VoskModel:
    """A loaded vosk model (slow to load, shared by recognizers) and what its vocabulary holds."""

    def __init__(self, model: Any, path: Path) -> None:
        self.model = model
        self.path = path
        self.has_unk = self.knows(UNK)

    def knows(self, word: str) -> bool:
        """Whether the model's vocabulary has this word."""
        return int(self.model.vosk_model_find_word(word)) >= 0


def _import_vosk() -> Any:
    try:
        import vosk
    except ImportError as exc:
        raise EngineUnavailable("the vosk engine needs the 'vosk' package: pip install vosk") from exc
    vosk.SetLogLevel(-1)
    return vosk


def load_vosk_model(path: Path) -> VoskModel:
    """Load a vosk model folder once (≈2 s for the Korean one); a bad folder is a clear error."""
    vosk = _import_vosk()
    path = Path(path)
    if not (path / "am").is_dir() and not (path / "final.mdl").exists():
        raise EngineUnavailable(f"{path} is not a vosk model folder (no am/ inside)")
    try:
        model = vosk.Model(str(path))
    except Exception as exc:  # vosk raises a bare Exception
        raise EngineUnavailable(f"cannot load the vosk model in {path}: {exc}") from exc
    return VoskModel(model, path)


class VoskRecognizer:
    """Commands from 16 kHz audio with a vosk model and a per-state command grammar."""

    engine = "vosk"

    def __init__(
        self,
        model: VoskModel,
        vocabulary: Vocabulary,
        commands: Iterable[Command] | None = None,
        settings: RecognitionSettings | None = None,
    ) -> None:
        self._vosk = _import_vosk()
        self._model = model
        self._settings = settings or RecognitionSettings()
        self._vocabulary = vocabulary
        self._phrases = {p: c for p, c in vocabulary.all_phrases().items() if all(model.knows(w) for w in p.split())}
        missing = sorted(set(vocabulary.all_phrases()) - set(self._phrases))
        if missing:
            _LOGGER.warning("the vosk model %s lacks words of %s; those phrases cannot be heard",
                            model.path.name, missing)
        self._min_conf = self._settings.min_confidence if model.has_unk else self._settings.min_confidence_no_unk
        self._allowed: frozenset[Command] = frozenset()
        self._rec = self._vosk.KaldiRecognizer(model.model, SAMPLE_RATE)
        self._rec.SetWords(True)
        self._rec.SetPartialWords(True)
        self._fed_total = 0
        """Samples vosk has had since it was made: its word times count from there, through Reset()."""
        self._base = 0
        self._rec.SetGrammar(json.dumps(self.grammar(), ensure_ascii=False))  # once: see the module docstring
        self.set_commands(commands if commands is not None else vocabulary.phrases)
        self.reset()

    @property
    def has_unk(self) -> bool:
        """Whether other speech is rejected by the grammar itself (else by confidence only)."""
        return self._model.has_unk

    def grammar(self) -> list[str]:
        """The phrases the decoder may output: every command's (the allowed ones are picked out after)."""
        return [*self._phrases, *([UNK] if self._model.has_unk else [])]

    def set_commands(self, commands: Iterable[Command]) -> None:
        """The commands that count from now on (any thread that feeds; safe mid-utterance)."""
        self._allowed = frozenset(commands)

    def reset(self) -> None:
        """Forget pending audio and restart the stream clock at 0."""
        self._rec.Reset()
        st = self._settings
        self._seg = Segmenter(VadSettings(margin_db=st.vad_margin_db, end_seconds=st.quiet_seconds),
                              webrtc_vad(st.vad_mode))
        self._frame = FRAME * 2
        self._pending = b""
        self._samples = 0
        self._base = self._fed_total
        self._t0: float | None = None
        self._acted = False
        self._partial = ""
        self._partial_count = 0

    def feed(self, samples: np.ndarray | bytes, start: float | None = None) -> list[Heard]:
        """Decode as the audio comes; a command is out at a stable partial or when the utterance ends."""
        if self._t0 is None:
            self._t0 = start or 0.0
        pcm = as_int16(samples).tobytes()
        self._pending += pcm
        out: list[Heard] = []
        n = len(self._pending) // self._frame * self._frame
        for i in range(0, n, self._frame):
            frame = self._pending[i : i + self._frame]
            event = self._seg.process(frame)
            out.extend(self._accept(frame))
            if event == "end":
                result = json.loads(self._rec.FinalResult())
                if self._seg.speech_end - self._seg.speech_start > self._settings.max_command_seconds:
                    result = {}  # talk, not a command
                out.extend(self._final(result))
        self._pending = self._pending[n:]
        return out

    def flush(self) -> list[Heard]:
        """End of stream: the last utterance's result."""
        out = self._accept(self._pending) if self._pending else []
        self._pending = b""
        out.extend(self._final(json.loads(self._rec.FinalResult())))
        return out

    # -- internals ---------------------------------------------------------------------------------

    def _accept(self, pcm: bytes) -> list[Heard]:
        self._samples += len(pcm) // 2
        self._fed_total += len(pcm) // 2
        if self._rec.AcceptWaveform(pcm):
            return self._final(json.loads(self._rec.Result()))
        if not self._model.has_unk or self._acted:
            return []
        return self._maybe_partial(json.loads(self._rec.PartialResult()))

    def _maybe_partial(self, result: dict[str, Any]) -> list[Heard]:
        text = normalize(result.get("partial", ""))
        if text != self._partial:
            self._partial, self._partial_count = text, 0
        self._partial_count += 1
        command = self._phrases.get(text)
        if (
            command is None
            or command not in self._allowed
            or " " in text
            or self._partial_count < self._settings.stable_partials
            or any(p.startswith(text + " ") and c != command for p, c in self._phrases.items() if c in self._allowed)
        ):
            return []
        words = result.get("partial_result") or []
        heard = self._heard(text, command, words)
        if heard is None:
            return []
        self._acted = True
        return [heard]

    def _final(self, result: dict[str, Any]) -> list[Heard]:
        acted, self._acted = self._acted, False
        self._partial, self._partial_count = "", 0
        text = normalize(result.get("text", ""))
        if acted or not text:
            return []
        command = self._phrases.get(text)
        if command is None or command not in self._allowed:
            _LOGGER.debug("heard %r: not an allowed command", text)
            return []
        return [h for h in [self._heard(text, command, result.get("result") or [])] if h]

    def _heard(self, text: str, command: Command, words: list[dict[str, Any]]) -> Heard | None:
        base = (self._t0 or 0.0) - self._base / SAMPLE_RATE  # vosk's times count from its first sample ever
        conf = min((float(w.get("conf", 1.0)) for w in words), default=1.0)
        if conf < self._min_conf:
            _LOGGER.debug("heard %r at confidence %.2f: below %.2f", text, conf, self._min_conf)
            return None
        start = base + float(words[0]["start"]) if words else base
        end = base + float(words[-1]["end"]) if words else (self._t0 or 0.0) + self._samples / SAMPLE_RATE
        return Heard(text, command, conf, start, end, self.engine)
