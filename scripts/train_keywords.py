#!/usr/bin/env python3
"""Train the streaming keyword model (voiceguide/speech/data/keywords-en.npz); a build-time step.

Every English command phrase is spoken by many synthesizers (espeak-ng variants, Flite, Festival's diphone
voices, Piper; `kwsdata.TRAIN_VOICES`) at several rates and pitches, put in simulated small rooms, and laid over
kitchen, pink, fan, hair-dryer and shower noise or over the product's own narration (both engines) at
echo-residual levels; the tuning speakers' clips add people. Negatives: thousands of common words, near-misses
of the command words, names and wake words, spelled letters, sentences, the narration alone, noise alone, and
the tuning speakers' other words. Never the running tap (the held-out noise) nor a held-out voice or speaker.

Each clip is embedded once on the run-time 80 ms grid; a window of 16 embeddings is labelled with the phrase
whose end lies 0-0.32 s before the window's end, "other" when no phrase ends there (or long ago), and left out
in between. A two-layer network is fitted with numpy (Adam, seeded), and each phrase's threshold is chosen on a
validation part (other voices, other speakers, other words) by running the run-time `Detector` over it.
Deterministic: a rebuild gives the same file.

    .venv/bin/python scripts/train_keywords.py              # writes voiceguide/speech/data/keywords-en.npz
    .venv/bin/python scripts/eval_keywords.py               # then the held-out figures
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import sys
import time
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import kwsdata  # noqa: E402
from corpus import CORPUS, corpus_available, corpus_clips, read16  # noqa: E402

from voiceguide.core.commands import builtin_vocabulary  # noqa: E402
from voiceguide.speech.keywords import (  # noqa: E402
    BUILTIN_KEYWORDS,
    EMBED_SPAN,
    HOP,
    OTHER,
    WINDOW,
    Detector,
    DetectorSettings,
    Embedder,
    head,
)

_LOGGER = logging.getLogger("train_keywords")
RATE = 16000
LEAD = 1.6
"""Seconds of background before a word: the window that ends just after it sees only this clip."""
TAIL = 0.8
POSITIVE = (0.0, 0.32)
"""A window is the phrase when the phrase ended this many seconds before the window's end."""
IGNORE = (-0.16, 0.64)
"""Windows around the positive span are neither the phrase nor clearly other: left out."""
CORPUS_WORDS = {"stop": "stop", "go": "go", "yes": "yes", "no": "no"}
RECIPE = 1
"""Bump when render() or the embedding changes, so cached clips are not reused."""
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "voiceguide-kws" / "embedded"


@dataclass(frozen=True)
class Example:
    """One clip to learn from: what is said, by whom, and how it is placed and mixed."""

    kind: str
    """'say' (synthesized text), 'human' (a corpus clip), 'narration' or 'noise' (no speech of ours)."""
    text: str
    """The text said, the corpus path, or the narration engine / noise name."""
    label: str
    """The phrase, or OTHER."""
    voice: str = ""
    rate: float = 1.0
    pitch: float = 0.0
    room: bool = False
    background: str = "quiet"
    """'quiet', a noise name, or 'narration:<engine>'."""
    snr: float = 30.0
    seed: int = 0
    part: str = "train"
    """'train' or 'val' (by voice, speaker and word: nothing shared)."""


def _seed(*parts: object) -> int:
    return zlib.crc32("|".join(map(str, parts)).encode())


def _part(*keys: object, val_share: int = 6) -> str:
    return "val" if _seed(*keys) % val_share == 0 else "train"


def held_out_text(text: str) -> bool:
    """Words and sentences kept out of training (a quarter of each negative list), for eval_keywords' figures."""
    return zlib.crc32(f"heldout|{text}".encode()) % 4 == 0


def _background(rng: np.random.Generator) -> tuple[str, float]:
    roll = rng.random()
    if roll < 0.25:
        return "quiet", 40.0
    if roll < 0.65:
        return str(rng.choice(["kitchen", "pink", "fan", "hairdryer", "shower"])), float(rng.uniform(0, 20))
    return f"narration:{rng.choice(['espeak', 'piper'])}", float(rng.uniform(8, 30))  # what the canceller leaves


def examples(per_phrase: int = 3) -> list[Example]:
    """The whole training and validation set, deterministic."""
    out: list[Example] = []
    phrases = sorted(builtin_vocabulary("en").all_phrases())
    voices = [v for v in kwsdata.TRAIN_VOICES if kwsdata.available(v)]
    val_voices = {v for v in voices if _part(v) == "val"}
    rng = np.random.default_rng(11)

    def add(kind: str, text: str, label: str, voice: str, part: str, copies: int) -> None:
        for k in range(copies):
            s = _seed(kind, text, voice, k)
            r = np.random.default_rng(s)
            background, snr = _background(r)
            rate = float(r.choice([0.8, 0.9, 1.0, 1.1, 1.25])) if kind == "say" else 1.0
            out.append(Example(kind, text, label, voice, rate, float(r.uniform(-3, 3)) if kind == "say" else 0.0,
                               bool(r.random() < 0.5), background, snr, s, part))

    for phrase in phrases:
        for voice in voices:
            add("say", phrase, phrase, voice, "val" if voice in val_voices else "train", per_phrase)
    negatives = kwsdata.negative_texts(seed=3)
    shares = {"words": 1, "near": 4, "names": 2, "letters": 2, "sentences": 1}
    for group, texts in sorted(negatives.items()):
        for text in texts:
            if held_out_text(text):
                continue
            picks = rng.choice(len(voices), size=shares.get(group, 1), replace=False)
            for i in sorted(picks.tolist()):
                add("say", text, OTHER, voices[i], _part(group, text), 1)
    extra = np.random.default_rng(13)  # a second voice for every common word: rejection needs many voices
    for text in negatives["words"]:
        if not held_out_text(text):
            add("say", text, OTHER, voices[int(extra.integers(len(voices)))], _part("words", text), 1)
    for engine in ("espeak", "piper"):
        for k in range(150):
            add("narration", f"{engine}#{k}", OTHER, "", _part("narration", k), 1)
    for k in range(60):
        add("noise", f"noise#{k}", OTHER, "", _part("noise", k), 1)
    if corpus_available():
        for clip in corpus_clips():
            if clip.split != "tune" or clip.word == "silence":
                continue
            label = CORPUS_WORDS.get(clip.word, OTHER)
            part = "val" if zlib.crc32(clip.speaker.encode()) // 2 % 4 == 0 else "train"
            add("human", str(clip.path.relative_to(CORPUS)), label, "human", part, 4)
    return out


_CACHE: dict[str, object] = {}


def _narration(engine: str) -> np.ndarray:
    key = f"narration:{engine}"
    if key not in _CACHE:
        parts = []
        for sentence in kwsdata.narration(engine):
            parts += [sentence, np.zeros(int(0.3 * RATE), dtype=np.int16)]
        _CACHE[key] = np.concatenate(parts)
    return _CACHE[key]  # type: ignore[return-value]


def _noise(name: str) -> np.ndarray:
    if "noises" not in _CACHE:
        _CACHE["noises"] = kwsdata.noises()
    return _CACHE["noises"][name]  # type: ignore[index]


def speech_span(audio: np.ndarray) -> tuple[int, int]:
    """Where speech starts and ends in a clip (20 ms frames 30 dB under the loudest)."""
    frames = audio[: len(audio) // 320 * 320].astype(np.float64).reshape(-1, 320)
    if not len(frames):
        return 0, len(audio)
    db = 10 * np.log10((frames**2).mean(axis=1) + 1.0)
    loud = np.flatnonzero(db > db.max() - 30)
    return int(loud[0] * 320), int((loud[-1] + 1) * 320)


def render(example: Example) -> tuple[np.ndarray, int]:
    """(the clip's audio, the sample where the labelled phrase ends, or -1)."""
    r = np.random.default_rng(example.seed)
    if example.kind == "say":
        speech = kwsdata.synthesize(example.text, example.voice, example.rate, example.pitch, example.seed % 7)
    elif example.kind == "human":
        clip = read16(CORPUS / example.text)
        a, b = speech_span(clip)
        speech = clip[max(0, a - 800) : b + 800]
    else:
        speech = np.zeros(0, dtype=np.int16)
    if example.room and len(speech):
        speech = kwsdata.reverb(speech, example.seed)
    speech = (speech.astype(np.float64) * 10 ** (r.uniform(-8, 4) / 20)).clip(-32768, 32767).astype(np.int16)
    if example.kind in ("narration", "noise"):
        n = int(r.uniform(2.8, 4.0) * RATE)
        audio, end = np.zeros(n, dtype=np.int16), -1
        bg = _narration(example.text.split("#")[0]) if example.kind == "narration" else _noise(
            str(r.choice(["kitchen", "pink", "fan", "hairdryer", "shower"])))
        start = int(r.integers(0, max(1, len(bg) - n)))
        audio = np.resize(bg[start:], n).astype(np.int16)
        return (audio.astype(np.float64) * 10 ** (r.uniform(-20, 0) / 20)).astype(np.int16), -1
    a, b = speech_span(speech) if len(speech) else (0, 0)
    lead = int((LEAD + r.uniform(0, 0.08)) * RATE)
    audio = np.concatenate([np.zeros(lead, dtype=np.int16), speech, np.zeros(int(TAIL * RATE), dtype=np.int16)])
    end = lead + b if example.label != OTHER else -1
    background = example.background
    level = np.sqrt(np.mean(speech[a:b].astype(np.float64) ** 2)) if b > a else 300.0
    if background.startswith("narration:"):
        bg = _narration(background.split(":")[1])
    elif background == "quiet":
        bg = r.normal(0, 1, RATE * 4)
    else:
        bg = _noise(background)
    start = int(r.integers(0, max(1, len(bg) - len(audio))))
    piece = np.resize(np.asarray(bg[start:], dtype=np.float64), len(audio))
    piece *= level / (np.sqrt(np.mean(piece**2)) + 1e-9) / 10 ** (example.snr / 20)
    dither = r.normal(0, 8, len(audio))
    return (audio + piece + dither).clip(-32768, 32767).astype(np.int16), end


def labels_of(n_embeddings: int, end: int, label: str) -> list[str | None]:
    """Each window's label (None: left out); window k ends with embedding k + 15."""
    out: list[str | None] = []
    for k in range(n_embeddings - WINDOW + 1):
        window_end = (k + WINDOW - 1) * HOP + EMBED_SPAN
        if end < 0:
            out.append(OTHER)
            continue
        d = (window_end - end) / RATE
        if POSITIVE[0] <= d <= POSITIVE[1]:
            out.append(label)
        elif IGNORE[0] <= d <= IGNORE[1]:
            out.append(None)
        else:
            out.append(OTHER)
    return out


_EMBEDDER: Embedder | None = None


def embed(example: Example) -> tuple[np.ndarray, int]:
    """(embeddings of the clip as float16, the phrase's end sample); cached on disk by the example's fields."""
    global _EMBEDDER
    key = hashlib.sha256(f"{RECIPE}|{kwsdata.RECIPE}|{example!r}".encode()).hexdigest()[:24]
    path = CACHE / key[:2] / f"{key}.npz"
    if path.is_file():
        with np.load(path) as data:
            return data["e"], int(data["end"])
    if _EMBEDDER is None:
        _EMBEDDER = Embedder()
    audio, end = render(example)
    e = _EMBEDDER.clip_embeddings(audio).astype(np.float16)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, e=e, end=np.int64(end))
    os.replace(tmp, path)
    return e, end


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, k: int, hidden: int, epochs: int, seed: int, decay: float = 1e-4,
        drop: float = 0.1) -> dict[str, np.ndarray]:
    """A ReLU layer and a softmax by Adam over minibatches, seeded; weight decay on the weights."""
    rng = np.random.default_rng(seed)
    mean = x.mean(axis=0, dtype=np.float64).astype(np.float32)
    scale = (x.std(axis=0, dtype=np.float64) + 1e-2).astype(np.float32)
    params = {
        "w1": (rng.normal(0, np.sqrt(2 / x.shape[1]), (x.shape[1], hidden))).astype(np.float32),
        "b1": np.zeros(hidden, np.float32),
        "w2": (rng.normal(0, np.sqrt(1 / hidden), (hidden, k))).astype(np.float32),
        "b2": np.zeros(k, np.float32),
    }
    m = {n: np.zeros_like(v) for n, v in params.items()}
    v2 = {n: np.zeros_like(v) for n, v in params.items()}
    t, batch, lr = 0, 256, 1e-3
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        total = 0.0
        for i in range(0, len(order), batch):
            idx = np.sort(order[i : i + batch])
            xb = (x[idx].astype(np.float32) - mean) / scale
            xb = xb * (rng.random(xb.shape, dtype=np.float32) > drop) / (1 - drop)  # input dropout
            wb = w[idx]
            h_pre = xb @ params["w1"] + params["b1"]
            h = np.maximum(h_pre, 0)
            z = h @ params["w2"] + params["b2"]
            z -= z.max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            total += float(-(np.log(p[np.arange(len(idx)), y[idx]] + 1e-9) * wb).sum())
            g = p
            g[np.arange(len(idx)), y[idx]] -= 1
            g *= (wb / wb.sum())[:, None]
            grads = {"w2": h.T @ g + decay * params["w2"], "b2": g.sum(axis=0)}
            gh = (g @ params["w2"].T) * (h_pre > 0)
            grads |= {"w1": xb.T @ gh + decay * params["w1"], "b1": gh.sum(axis=0)}
            t += 1
            step = lr * (0.3 if epoch >= epochs - 2 else 1.0)
            for name, grad in grads.items():
                m[name] = 0.9 * m[name] + 0.1 * grad
                v2[name] = 0.999 * v2[name] + 0.001 * grad * grad
                params[name] -= (step * (m[name] / (1 - 0.9**t)) / (np.sqrt(v2[name] / (1 - 0.999**t)) + 1e-8)).astype(np.float32)
        _LOGGER.info("epoch %d: loss %.4f", epoch + 1, total / w.sum())
    return {"mean": mean, "scale": scale, **params}


def choose_thresholds(seqs: list[np.ndarray], truth: list[str], labels: list[str],
                      max_false_per_hour: float) -> tuple[dict[str, float], float, float]:
    """The lowest threshold (one for every phrase) at which the run-time detector's false commands on the validation
    negatives stay within budget; with the phrases heard right at it."""
    phrases = [x for x in labels if x != OTHER]
    best = (0.99, 0.0, 0.0)
    for t in np.round(np.arange(0.50, 0.995, 0.01), 2):
        heard, false, seconds, n = _detect(seqs, truth, labels, {x: float(t) for x in phrases})
        if false / (seconds / 3600) <= max_false_per_hour:
            best = (float(t), heard / max(1, n), false / (seconds / 3600))
            break
    return {x: best[0] for x in phrases}, best[1], best[2]


def _detect(seqs: list[np.ndarray], truth: list[str], labels: list[str],
            thresholds: dict[str, float]) -> tuple[int, int, float, int]:
    """(phrases heard right, false commands on negatives, negatives' seconds, phrases) with the run-time detector."""
    heard = false = n = 0
    seconds = 0.0
    for s, label in zip(seqs, truth, strict=True):
        got = Detector(thresholds, DetectorSettings(keen=())).run(dict(zip(labels, row.tolist(), strict=True)) for row in s)
        if label == OTHER:
            false += len(got)
            seconds += len(s) * HOP / RATE
        else:
            n += 1
            heard += [d.label for d in got] == [label]
    return heard, false, seconds, n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=BUILTIN_KEYWORDS)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--threshold", type=float, default=0.6,
                    help="the phrases' detection threshold (omit to fit one to --false-per-hour)")
    ap.add_argument("--copies", type=int, default=3, help="mixes of each (phrase, voice)")
    ap.add_argument("--false-per-hour", type=float, default=20.0, help="validation budget when fitting the threshold")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    started = time.monotonic()
    data = examples(args.copies)
    _LOGGER.info("%d clips (%d phrases×voices); embedding them (%d jobs, cache %s)…", len(data),
                 sum(e.label != OTHER for e in data), args.jobs, CACHE)
    with ProcessPoolExecutor(args.jobs) as pool:
        embedded = list(pool.map(embed, data, chunksize=8))
    _LOGGER.info("embedded in %.0f s", time.monotonic() - started)
    labels = sorted(builtin_vocabulary("en").all_phrases()) + [OTHER]
    index = {x: i for i, x in enumerate(labels)}
    xs, ys, ws = [], [], []
    for ex, (e, end) in zip(data, embedded, strict=True):
        if ex.part != "train":
            continue
        tags = labels_of(len(e), end, ex.label)
        keep = [k for k, tag in enumerate(tags) if tag is not None]
        if not keep:
            continue
        idx = np.array(keep)[:, None] + np.arange(WINDOW)[None, :]
        xs.append(e[idx])
        ys += [index[tags[k]] for k in keep]  # type: ignore[index]
        ws += [2.0 if ex.kind == "human" else 1.0] * len(keep)
    x = np.concatenate(xs).reshape(-1, WINDOW * 96)
    y = np.array(ys)
    counts = np.bincount(y, minlength=len(labels)).astype(np.float64)
    w = np.array(ws, dtype=np.float32) * (counts.sum() / (len(labels) * np.maximum(counts, 1)))[y].astype(np.float32) ** 0.5
    _LOGGER.info("%d training windows (%d of phrases); fitting…", len(x), int((y != index[OTHER]).sum()))
    model = fit(x, y, w, len(labels), args.hidden, args.epochs, seed=5)
    val = [(ex, e, end) for ex, (e, end) in zip(data, embedded, strict=True) if ex.part == "val"]
    seqs = []
    for _, e, _ in val:
        n = max(0, len(e) - WINDOW + 1)
        windows = e[np.arange(WINDOW)[None, :] + np.arange(n)[:, None]].reshape(n, -1).astype(np.float32)
        seqs.append(head(model, windows) if n else np.zeros((0, len(labels))))
    truth = [ex.label for ex, _, _ in val]
    if args.threshold is None:
        thresholds, recall, false = choose_thresholds(seqs, truth, labels, args.false_per_hour)
    else:  # a candidate threshold: pocketsphinx confirms what is under RecognitionSettings.keyword_alone
        thresholds = {x: args.threshold for x in labels if x != OTHER}
        heard, n_false, seconds, n = _detect(seqs, truth, labels, thresholds)
        recall, false = heard / max(1, n), n_false / (seconds / 3600)
    thresholds[OTHER] = 1.0
    _LOGGER.info("threshold %.2f: validation phrases heard right %.1f%%, negatives %.1f false commands per hour "
                 "(the model alone, before pocketsphinx confirms)", thresholds[labels[0]], 100 * recall, false)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "wb") as fh:
        np.savez_compressed(fh, labels=np.array(labels), language=np.array("en"),
                            thresholds=np.array([thresholds[x] for x in labels], dtype=np.float32),
                            **{k: v.astype(np.float32) for k, v in model.items()})
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()[:16]
    _LOGGER.info("wrote %s (%d KB, sha256 %s…) in %.0f s", args.out, args.out.stat().st_size // 1024, digest,
                 time.monotonic() - started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
