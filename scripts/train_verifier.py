#!/usr/bin/env python3
"""Train the English fallback's command classifier (voiceguide/speech/data/verifier-en.npz); a build-time step.

Examples: every command phrase of the built-in English vocabulary and a few hundred frequent non-command words,
spoken by espeak-ng in a dozen voices at two speeds; plus the human clips of the *tuning* speakers only (the
split of scripts/corpus.py). Each is also mixed with kitchen or pink noise (never the running tap,
which stays unseen for the held-out figures). Every example goes through the real recognizer (its segmenter
cuts the utterance, pocketsphinx decodes it) and the two-second window the verifier would see is embedded.
A softmax classifier is fitted with numpy; its regularisation and the two thresholds of the fusion rule are
chosen by four-fold cross-validation over the tuning speakers. Deterministic: a rebuild gives the same file.

    .venv/bin/python scripts/train_verifier.py                # writes voiceguide/speech/data/verifier-en.npz
    .venv/bin/python scripts/train_verifier.py --out /tmp/v.npz --jobs 2
    .venv/bin/python scripts/tune_sphinx.py --split test --snrs clean,20,10,5   # then report on held-out speakers
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import logging
import pickle
import sys
import time
import zlib
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # corpus.py: the audio helpers the tests use too

from corpus import CORPUS, corpus_clips, espeak, mix, read16, silence  # noqa: E402

from voiceguide.core.commands import Command, builtin_vocabulary  # noqa: E402
from voiceguide.speech.base import RecognitionSettings  # noqa: E402
from voiceguide.speech.decoys_en import ENGLISH_DECOYS  # noqa: E402
from voiceguide.speech.verifier import BUILTIN_VERIFIER, OTHER, Rule, decide, features  # noqa: E402

_LOGGER = logging.getLogger("train_verifier")

CORPUS_WORDS = {"stop": Command.STOP, "go": Command.RESUME, "yes": Command.YES, "no": Command.NO}
VOICES = ("en-us+m1", "en-us+f2", "en-us+m7", "en-gb+m3", "en-gb+f4", "en-gb-scotland", "en-gb-x-rp+f2", "en-029",
          "en-us-nyc+m3", "en-gb-x-gbclan+f5", "en-us+klatt", "en-gb-x-gbcwmd+f1")
"""None of them is a voice the tests speak with (en-us, en-us+f3, en-gb, en-us+m3 plain)."""
SPEEDS = (125, 170)
DECOY_WORDS = 600
TALK_SNIPPETS = 200
HUMAN_WEIGHT = 1.0
"""What a human example counts against a synthesized one (more made the classifier take every natural voice's
command for one of the four words the corpus has: a Piper "start" for "stop")."""
TRUSTED_MIN = 10
"""Human clips a command needs before the fusion rule lets the classifier veto or replace pocketsphinx on it."""


@dataclass(frozen=True)
class Example:
    """One recording to learn from: where it comes from, what it says, and how it is mixed."""

    source: str
    """'human:<path>' or 'espeak:<voice>:<speed>:<text>'."""
    label: str
    group: str
    """Speaker (human) or 'synthetic': cross-validation keeps a speaker's clips together."""
    noise: str = ""
    snr: float = 0.0
    seed: int = 0


def _seed(*parts: object) -> int:
    return zlib.crc32("|".join(map(str, parts)).encode())


def examples() -> list[Example]:
    """Every recording of the training set, clean and mixed (deterministic)."""
    out: list[Example] = []
    vocabulary = builtin_vocabulary("en")
    phrases = vocabulary.all_phrases()
    for clip in corpus_clips():
        if clip.split != "tune":
            continue
        label = CORPUS_WORDS[clip.word].value if clip.word in CORPUS_WORDS else OTHER
        base = Example(f"human:{clip.path.relative_to(CORPUS)}", label, clip.speaker)
        out.append(base)
        for k, (noise, lo, hi) in enumerate([("doing_the_dishes", 5, 20), ("pink_noise", 10, 25), ("doing_the_dishes", 0, 10)]):
            s = _seed(base.source, k)
            out.append(replace(base, noise=noise, snr=lo + (hi - lo) * (s % 1000) / 1000, seed=s))
    command_words = {w for p in phrases for w in p.split()}
    decoys = [w for w in ENGLISH_DECOYS if w not in command_words][:DECOY_WORDS]
    texts = [(p, c.value) for p, c in sorted(phrases.items())] + [(w, OTHER) for w in decoys]
    rng = np.random.default_rng(7)
    for _ in range(TALK_SNIPPETS):  # running speech with pauses, like narration heard between its sentences
        groups = [" ".join(rng.choice(decoys, size=rng.integers(1, 4))) for _ in range(rng.integers(2, 5))]
        texts.append((", ".join(groups), OTHER))
    every = [(v, s) for v in VOICES for s in SPEEDS]
    for i, (text, label) in enumerate(texts):
        combos = every if label != OTHER else [every[(i * 7 + j * 5) % len(every)] for j in range(2)]  # many words: 2 voices
        for voice, speed in combos:
            base = Example(f"espeak:{voice}:{speed}:{text}", label, "synthetic")
            out.append(base)
            s = _seed(base.source)
            noise = "doing_the_dishes" if s % 2 else "pink_noise"
            out.append(replace(base, noise=noise, snr=5 + 20 * (s % 1000) / 1000, seed=s))
    return out


_NOISE: dict[str, np.ndarray] = {}
_REC = None


def _audio(example: Example) -> np.ndarray:
    if example.source.startswith("human:"):
        audio = read16(CORPUS / example.source[6:])
    else:
        _, voice, speed, text = example.source.split(":", 3)
        audio = espeak(text, voice=voice, speed=int(speed), pitch=35 + _seed(voice, text) % 30)
    if example.noise:
        noise = _NOISE.setdefault(example.noise, read16(CORPUS / "noise" / f"{example.noise}.wav"))
        audio = mix(audio, noise, example.snr, offset=example.seed % len(noise))
    return np.concatenate([silence(0.3), audio, silence(0.5)])


def _windows(example: Example) -> list[tuple[str, np.ndarray]]:
    """(pocketsphinx's command or '', embedding features) for each utterance the recognizer cuts out."""
    global _REC
    from corpus import decode

    from voiceguide.speech.sphinx import SphinxRecognizer
    from voiceguide.speech.verifier import Verifier

    if _REC is None:
        settings = RecognitionSettings(verify=False, early_seconds=0.0)
        _REC = (SphinxRecognizer(builtin_vocabulary("en"), settings=settings), Verifier())
    rec, verifier = _REC
    found: list[tuple[str, np.ndarray]] = []
    judge = type(rec)._judge

    def spy(start: float, end: float, final: bool) -> tuple[str, Command | None, float]:
        text, command, confidence = judge(rec, start, end, final)
        window = rec.verifier_audio(start, end + rec._settings.edge_seconds)
        found.append((command.value if command else "", features(verifier.embeddings(verifier.window(window)))))
        return text, command, confidence

    rec._judge = spy
    decode(rec, _audio(example))
    return found


def _fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, k: int, l2: float, steps: int = 400) -> tuple[np.ndarray, ...]:
    """Softmax regression by Adam on standardized features; returns (mean, scale, weights, bias)."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-3
    xn = (x - mean) / scale
    wt = np.zeros((x.shape[1], k))
    b = np.zeros(k)
    onehot = np.eye(k)[y]
    m = [np.zeros_like(wt), np.zeros_like(b)]
    v = [np.zeros_like(wt), np.zeros_like(b)]
    ws = w / w.sum()
    for t in range(1, steps + 1):
        z = xn @ wt + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - onehot) * ws[:, None]
        grads = [xn.T @ g + l2 * wt, g.sum(axis=0)]
        for i, (param, grad) in enumerate(zip((wt, b), grads, strict=True)):
            m[i] = 0.9 * m[i] + 0.1 * grad
            v[i] = 0.999 * v[i] + 0.001 * grad * grad
            param -= 0.01 * (m[i] / (1 - 0.9**t)) / (np.sqrt(v[i] / (1 - 0.999**t)) + 1e-8)
    return mean.astype(np.float32), scale.astype(np.float32), wt.astype(np.float32), b.astype(np.float32)


def _predict(model: tuple[np.ndarray, ...], x: np.ndarray) -> np.ndarray:
    mean, scale, wt, b = model
    z = ((x - mean) / scale) @ wt + b
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def _score(clips: dict[int, list[tuple[str, dict[str, float]]]], truth: dict[int, str], rule: Rule) -> tuple[float, float]:
    """(commands accepted right, non-commands rejected) over clips, as tests/speech/test_sphinx.py counts them."""
    allowed = list(Command)
    hits = n_cmd = rejected = n_other = 0
    for key, label in truth.items():
        got = []
        for heard, p in clips.get(key, []):
            verdict = decide(p, Command(heard) if heard else None, allowed, rule)
            if verdict.command is not None:
                got.append(verdict.command.value)
        if label == OTHER:
            n_other += 1
            rejected += not got
        else:
            n_cmd += 1
            hits += got == [label]
    return hits / max(1, n_cmd), rejected / max(1, n_other)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=BUILTIN_VERIFIER)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--cache", type=Path, help="keep each example's embedded windows here and reuse them (for trying settings)")
    ap.add_argument("--min-reject", type=float, default=0.95, help="rejection the thresholds must keep on clean cross-validation")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    started = time.monotonic()
    data = examples()
    _LOGGER.info("%d examples; embedding them through the recognizer (%d jobs)…", len(data), args.jobs)
    cache: dict[Example, list[tuple[str, np.ndarray]]] = {}
    if args.cache and args.cache.is_file():
        cache = pickle.loads(args.cache.read_bytes())
    todo = [e for e in data if e not in cache]
    with ProcessPoolExecutor(args.jobs) as pool:
        cache.update(zip(todo, pool.map(_windows, todo, chunksize=16), strict=True))
    if args.cache and todo:
        args.cache.write_bytes(pickle.dumps(cache))
    windows = [cache[e] for e in data]
    labels = [c.value for c in Command] + [OTHER]
    rows = [(i, heard, f) for i, found in enumerate(windows) for heard, f in found]
    x = np.stack([f for _, _, f in rows]).astype(np.float64)
    y = np.array([labels.index(data[i].label) for i, _, _ in rows])
    w = np.array([HUMAN_WEIGHT if data[i].group != "synthetic" else 1.0 for i, _, _ in rows])
    fold = np.array([-1 if data[i].group == "synthetic" else zlib.crc32(data[i].group.encode()) // 2 % 4 for i, _, _ in rows])
    _LOGGER.info("%d windows (%.0f s); cross-validating over the tuning speakers…", len(rows), time.monotonic() - started)

    people = Counter(e.label for e in data if e.group != "synthetic" and not e.noise)
    trusted = frozenset(Command(x) for x, n in people.items() if x != OTHER and n >= TRUSTED_MIN)
    best = None
    for l2 in (1e-2, 3e-2, 0.1):
        oof: dict[int, list[tuple[str, dict[str, float]]]] = {}
        for f in range(4):
            train = fold != f
            model = _fit(x[train], y[train], w[train], len(labels), l2)
            held = np.flatnonzero(fold == f)
            for r, p in zip(held, _predict(model, x[held]), strict=True):
                oof.setdefault(rows[r][0], []).append((rows[r][1], dict(zip(labels, p.tolist(), strict=True))))
        human = [i for i, e in enumerate(data) if e.group != "synthetic"]
        clean = {i: data[i].label for i in human if not data[i].noise}
        noisy = {i: data[i].label for i in human if data[i].noise}
        for agree, alone, switch in itertools.product((0.02, 0.05, 0.1, 0.2, 0.3), (0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.01),
                                                      (0.5, 0.7, 0.9, 1.01)):
            rule = Rule(agree, alone, switch, trusted)
            acc, rej = _score(oof, clean, rule)
            nacc, nrej = _score(oof, noisy, rule)
            key = (rej >= args.min_reject, acc + nacc, rej + nrej)
            if best is None or key > best[0]:
                best = (key, l2, rule, (acc, rej, nacc, nrej))
    assert best is not None
    _, l2, rule, figures = best
    _LOGGER.info("chosen l2=%g agree=%.2f alone=%.2f switch=%.2f trusted=%s; cross-validated tuning speakers: clean "
                 "%.1f%% / %.1f%%, kitchen+pink noise %.1f%% / %.1f%% (accepted / rejected)", l2, rule.agree, rule.alone,
                 rule.switch, ",".join(sorted(c.value for c in trusted)), *(100 * v for v in figures))
    mean, scale, wt, b = _fit(x, y, w, len(labels), l2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "wb") as fh:
        np.savez_compressed(fh, labels=np.array(labels), mean=mean, scale=scale, weights=wt, bias=b,
                            agree=np.float32(rule.agree), alone=np.float32(rule.alone), switch=np.float32(rule.switch),
                            trusted=np.array(sorted(c.value for c in trusted)))
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()[:16]
    _LOGGER.info("wrote %s (%d KB, sha256 %s…) in %.0f s", args.out, args.out.stat().st_size // 1024, digest,
                 time.monotonic() - started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
