"""The built-in English fallback: pocketsphinx, with voice-activity segmentation and decoy words for rejection.

A grammar of only the commands maps every sound to some command. Here each utterance that the segmenter
(`vad.py`: noise floor + WebRTC) cuts out is decoded once with a grammar of the allowed command phrases *and*
150 frequent English words (plus the commands not allowed right now); only when a command phrase wins the
decode is it heard. The decoys are the alternative hypothesis of a likelihood-ratio test, spelled as words so one fast
grammar search does the test. Utterances longer than any command are talk and are ignored without decoding.
The bundled model's means are moved by one MLLR transform (`data/en-us.mllr`, from `scripts/adapt_sphinx.py`)
toward room microphones; `RecognitionSettings.denoise` puts RNNoise in front for a loud running tap.
Each decoded utterance then goes to the verifier (`verifier.py`: a speech embedding and a classifier), which
confirms the decoder's command, overrules it, or names the command the decoder took for a decoy; this lifts
the held-out speakers' commands from about four in five to nine in ten, and from a third to four in five
over loud running water.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from voiceguide.core.commands import Command, Vocabulary, normalize
from voiceguide.core.events import Heard
from voiceguide.core.sound import SAMPLE_RATE
from voiceguide.speech.base import EngineUnavailable, RecognitionSettings, as_int16
from voiceguide.speech.decoys_en import ENGLISH_DECOYS
from voiceguide.speech.vad import FRAME, Segmenter, VadSettings, webrtc_vad
from voiceguide.speech.verifier import BUILTIN_VERIFIER, WINDOW_SECONDS, Verifier

__all__ = ["SphinxRecognizer", "load_pocketsphinx"]

_LOGGER = logging.getLogger(__name__)


VERIFY_LEAD_SECONDS = 0.2
"""Audio before the utterance the verifier sees; more would let earlier speech (narration) into its window."""

_BUILTIN_MLLR = Path(__file__).parent / "data" / "en-us.mllr"
"""One global MLLR transform of the bundled model's means, from the tuning speakers (scripts/adapt_sphinx.py)."""


def _typed(current: object, value: str) -> object:
    """A config value given as text, converted to the type the option already has."""
    if isinstance(current, bool):
        return value.lower() in ("1", "true", "yes")
    if isinstance(current, (int, float)):
        return type(current)(float(value)) if isinstance(current, float) else int(value)
    return value


def load_pocketsphinx() -> Any:
    """The pocketsphinx module, or a clear message naming what to install."""
    try:
        import pocketsphinx
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise EngineUnavailable(
            "the built-in recognizer needs the 'pocketsphinx' package: pip install pocketsphinx") from exc
    return pocketsphinx


def _load_verifier(settings: RecognitionSettings) -> Verifier | None:
    """The command classifier, or None (with one warning) when it cannot run here."""
    if not settings.verify:
        return None
    path = Path(settings.verifier or BUILTIN_VERIFIER)
    if not path.is_file():
        _LOGGER.warning("command classifier %s is missing: hearing with pocketsphinx alone", path)
        return None
    try:
        return Verifier(path)
    except EngineUnavailable as exc:
        _LOGGER.warning("%s; hearing with pocketsphinx alone", exc)
        return None


class SphinxRecognizer:
    """Commands from 16 kHz audio with pocketsphinx's bundled English model; no download needed."""

    engine = "pocketsphinx"

    def __init__(
        self,
        vocabulary: Vocabulary,
        commands: Iterable[Command] | None = None,
        settings: RecognitionSettings | None = None,
    ) -> None:
        ps = load_pocketsphinx()
        self._settings = settings or RecognitionSettings()
        self._vocabulary = vocabulary
        model = ps.get_model_path()
        config = ps.Config(
            hmm=f"{model}/en-us/en-us",
            dict=f"{model}/en-us/cmudict-en-us.dict",
            lm=None,
            loglevel="FATAL",
            silprob=self._settings.silprob,
            pip=self._settings.pip,
        )
        mllr = self._settings.mllr or (_BUILTIN_MLLR if self._settings.adapted else None)
        if mllr is not None and not Path(mllr).is_file():
            _LOGGER.warning("MLLR transform %s is missing: hearing with the unadapted model", mllr)
            mllr = None
        if mllr is not None:
            config["mllr"] = str(mllr)
        for name, value in self._settings.sphinx_options:
            try:
                config[name] = _typed(config[name], value)
            except (KeyError, ValueError) as exc:
                raise EngineUnavailable(f"bad pocketsphinx option {name}={value!r}: {exc}") from exc
        self._decoder = ps.Decoder(config)
        self._ps = ps
        self._phrases = {p: c for p, c in vocabulary.all_phrases().items() if self._known(p)}
        missing = set(vocabulary.all_phrases()) - set(self._phrases)
        if missing:
            _LOGGER.warning("pocketsphinx's dictionary lacks words of %s; those phrases cannot be heard",
                            sorted(missing))
        single = {p for p in vocabulary.all_phrases() if " " not in p}
        self._decoys = [w for w in ENGLISH_DECOYS if w not in single and self._known(w)][: self._settings.decoys]
        self._verifier = _load_verifier(self._settings)
        self._searches: dict[frozenset[Command], str] = {}
        self._allowed: frozenset[Command] = frozenset()
        self.set_commands(commands if commands is not None else vocabulary.phrases)
        self.reset()

    def _known(self, phrase: str) -> bool:
        return all(self._decoder.lookup_word(w) is not None for w in phrase.split())

    # -- the Recognizer protocol -------------------------------------------------------------------

    def set_commands(self, commands: Iterable[Command]) -> None:
        """Decode with a grammar of these commands; the others join the decoys so they are not misheard."""
        allowed = frozenset(commands)
        name = self._searches.get(allowed)
        if name is None:
            name = f"cmd{len(self._searches)}"
            self._decoder.add_jsgf_string(name, self._grammar(allowed))
            self._searches[allowed] = name
        self._allowed = allowed
        self._search = name

    def _grammar(self, allowed: frozenset[Command]) -> str:
        wanted = sorted(p for p, c in self._phrases.items() if c in allowed)
        others = sorted(p for p, c in self._phrases.items() if c not in allowed)
        rivals = list(dict.fromkeys([*self._decoys, *others])) or ["<NULL>"]
        w = self._settings.decoy_weight
        top = " | ".join(x for x in ("/1/ <cmd>" if wanted else "", f"/{w:g}/ <other>") if x)
        rules = ([f"<cmd> = {' | '.join(wanted)} ;"] if wanted else []) + [f"<other> = {' | '.join(rivals)} ;"]
        return "#JSGF V1.0;\ngrammar voiceguide;\npublic <utterance> = " + top + " ;\n" + "\n".join(rules) + "\n"

    def reset(self) -> None:
        """Forget pending audio and restart the stream clock at 0."""
        st = self._settings
        self._seg = Segmenter(VadSettings(margin_db=st.vad_margin_db, end_seconds=st.vad_window),
                              webrtc_vad(st.vad_mode))
        self._frame = FRAME * 2
        self._denoiser = None
        if st.denoise:
            from voiceguide.speech.denoise import Denoiser

            self._denoiser = Denoiser()
        self._pending = b""
        self._too_long = False
        self._early = False
        """This utterance's command went out before its end."""
        self._t0: float | None = None
        self._history = bytearray()
        self._history_start = 0
        """Sample index of the first sample kept in `_history`."""

    def feed(self, samples: np.ndarray | bytes, start: float | None = None) -> list[Heard]:
        """Cut the audio into utterances; decide on each at a short pause or at its end."""
        if self._t0 is None:
            self._t0 = start or 0.0
        audio = as_int16(samples)
        if self._denoiser is not None:
            audio = self._denoiser.process(audio)
        pcm = audio.tobytes()
        self._pending += pcm
        self._remember(pcm)
        heard: list[Heard] = []
        n = len(self._pending) // self._frame * self._frame
        for i in range(0, n, self._frame):
            heard.extend(self._step(self._seg.process(self._pending[i : i + self._frame])))
        self._pending = self._pending[n:]
        return heard

    def flush(self) -> list[Heard]:
        """End of stream: close the utterance in progress, if any."""
        out: list[Heard] = []
        if self._pending:
            frame = self._pending + b"\0" * (self._frame - len(self._pending))
            self._pending = b""
            out.extend(self._step(self._seg.process(frame)))
        if self._seg.finish() == "end":
            out.extend(self._close())
        return out

    # -- internals ---------------------------------------------------------------------------------

    def _step(self, event: str | None) -> list[Heard]:
        seg = self._seg
        if event == "start":
            self._early = self._too_long = False
        if event == "end":
            return self._close()
        if not seg.in_speech or self._too_long:
            return []
        if seg.now - seg.speech_start > self._settings.max_command_seconds:
            self._too_long = True  # talk, not a command
            return []
        if not self._early and seg.quiet == self._early_frames():
            return self._early_decision()
        return []

    def _remember(self, pcm: bytes) -> None:
        """Keep the last few seconds, so an utterance is decoded with a little audio on each side."""
        self._history += pcm
        st = self._settings
        keep = int((st.max_command_seconds + st.lead_seconds + st.vad_window + 1.0) * SAMPLE_RATE) * 2
        if len(self._history) > 2 * keep:
            cut = len(self._history) - keep
            del self._history[:cut]
            self._history_start += cut // 2

    def _audio(self, start: float, end: float) -> bytes:
        """The kept audio between two stream times (clipped to what is kept)."""
        a = max(0, int(start * SAMPLE_RATE) - self._history_start)
        b = max(a, int(end * SAMPLE_RATE) - self._history_start)
        return bytes(self._history[2 * a : 2 * b])

    def _judge(self, speech_start: float, speech_end: float, final: bool) -> tuple[str, Command | None, float]:
        """pocketsphinx's words for an utterance, and the command to act on after the verifier's say, if any."""
        end = speech_end + self._settings.edge_seconds
        text = self.decode(self._audio(speech_start - self._settings.lead_seconds, end))
        command = self._vocabulary.match(text, self._allowed) if text else None
        if not final and (command is None or self._prefix_of_another(text, command)):
            return text, None, 0.0  # not a command, or the start of a longer one: wait for the end
        if self._verifier is None:
            return text, command, 1.0
        verdict = self._verifier.decide(self.verifier_audio(speech_start, end), command, self._allowed, final=final)
        return text, verdict.command, verdict.probability

    def verifier_audio(self, speech_start: float, end: float) -> np.ndarray:
        """What the verifier judges: the utterance alone (not the speech before it), at most its window long."""
        start = max(speech_start - VERIFY_LEAD_SECONDS, end - WINDOW_SECONDS)
        return np.frombuffer(self._audio(start, end), dtype="<i2")

    def _prefix_of_another(self, text: str, command: Command) -> bool:
        return any(p.startswith(text + " ") and c != command and c in self._allowed for p, c in self._phrases.items())

    def _early_frames(self) -> int:
        early = self._settings.early_seconds
        return max(1, round(early * SAMPLE_RATE / FRAME)) if early > 0 else -1

    def _early_decision(self) -> list[Heard]:
        """A short pause after what could be a whole command: decide now instead of after the endpoint."""
        seg = self._seg
        now = seg.now
        quiet_from = now - seg.quiet * FRAME / SAMPLE_RATE
        if quiet_from - seg.speech_start > self._settings.early_max_seconds:
            return []  # longer than a one-breath command: a sentence with a pause in it, so wait
        text, command, confidence = self._judge(seg.speech_start, now - self._settings.edge_seconds, final=False)
        if command is None:
            return []
        self._early = True
        t0 = self._t0 or 0.0
        _LOGGER.debug("early decision at %.2f s: %r → %s", t0 + now, text, command)
        return [Heard(text, command, confidence, t0 + seg.speech_start, t0 + quiet_from, self.engine)]

    def _close(self) -> list[Heard]:
        seg = self._seg
        t0 = self._t0 or 0.0
        too_long, self._too_long = self._too_long, False
        early, self._early = self._early, False
        if too_long or early:
            return []
        text, command, confidence = self._judge(seg.speech_start, seg.speech_end, final=True)
        _LOGGER.debug("utterance %.2f-%.2f s: %r → %s", t0 + seg.speech_start, t0 + seg.speech_end, text, command)
        if command is None:
            return []
        return [Heard(text, command, confidence, t0 + seg.speech_start, t0 + seg.speech_end, self.engine)]

    def _dither(self, pcm: bytes) -> bytes:
        """Add faint fixed noise: the model was never trained on digital silence (WAV files have it, mics don't)."""
        level = self._settings.dither
        if level <= 0:
            return pcm
        x = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
        noise = np.random.default_rng(len(x)).normal(0.0, level, len(x)).astype(np.float32)
        return np.clip(x + noise, -32768, 32767).astype("<i2").tobytes()

    def decode(self, pcm: bytes) -> str:
        """The words of one whole utterance under the current grammar (a command phrase or a decoy)."""
        d = self._decoder
        d.activate_search(self._search)
        d.start_utt()
        d.process_raw(self._dither(pcm), full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        if hyp is None:
            return ""
        words = [w.split("(")[0] for w in hyp.hypstr.split() if not w.startswith(("<", "[", "+"))]
        return normalize(" ".join(words))
