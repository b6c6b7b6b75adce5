#!/usr/bin/env python3
"""Accept/reject rates of the pocketsphinx fallback on one speaker split of the human clips, clean and over a tap.

The split is fixed in `scripts/corpus.py` (`CorpusClip.split`: crc32 of the speaker hash, even →
'tune', odd → 'test'); tune on 'tune', report on 'test'. Settings are overridden as NAME=VALUE pairs of
`RecognitionSettings` fields, e.g.

    .venv/bin/python scripts/tune_sphinx.py --split test --snrs clean,20,10,5
    .venv/bin/python scripts/tune_sphinx.py --split test --snrs clean,20,10,5 denoise=true
    .venv/bin/python scripts/tune_sphinx.py --split tune decoys=100 vad_margin_db=6 adapted=false opt.beam=1e-60
    .venv/bin/python scripts/tune_sphinx.py --split test verify=false            # pocketsphinx without its verifier
    .venv/bin/python scripts/tune_sphinx.py --split test verifier=/tmp/v.npz     # a classifier from train_verifier.py
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # corpus.py: the audio helpers the tests use too

from corpus import CORPUS, corpus_clips, decode, mix, read16, silence  # noqa: E402

from voiceguide.core.commands import Command, builtin_vocabulary  # noqa: E402
from voiceguide.speech.base import RecognitionSettings  # noqa: E402

WORDS = {"stop": Command.STOP, "go": Command.RESUME, "yes": Command.YES, "no": Command.NO}


def parse_override(text: str) -> tuple[str, object]:
    """NAME=VALUE → (name, value typed like the field's default)."""
    name, _, raw = text.partition("=")
    if name.startswith("opt."):
        return name, raw
    fields = {f.name: f for f in dataclasses.fields(RecognitionSettings)}
    if name not in fields:
        raise SystemExit(f"unknown setting {name!r}")
    default = fields[name].default
    if isinstance(default, bool):
        return name, raw.lower() in ("1", "true", "yes")
    if isinstance(default, (int, float)) and not isinstance(default, bool):
        return name, type(default)(float(raw)) if isinstance(default, float) else int(raw)
    if default is None or isinstance(default, (str, Path)):
        return name, None if raw.lower() == "none" else Path(raw) if name in ("mllr", "verifier") else raw
    raise SystemExit(f"cannot set {name!r} from the command line")


_DECODED: list[str] = []


class _Decoded(logging.Handler):
    """Collects what each utterance decoded to (the recognizer's debug lines)."""

    def emit(self, record: logging.LogRecord) -> None:
        _DECODED.append(record.getMessage().split(": ", 1)[-1])


def rates(recognizer, clips, noise=None, snr=None, verbose=False) -> tuple[float, float, int, int]:
    """(accepted right, rejected, commands, non-commands) as in tests/speech/test_sphinx.py."""
    hits = total = rejected = others = 0
    for i, clip in enumerate(clips):
        audio = read16(clip.path)
        if noise is not None:
            audio = mix(audio, noise, snr, offset=i * 7919)
        _DECODED.clear()
        heard = decode(recognizer, np.concatenate([silence(0.3), audio, silence(0.5)]))
        got = [h.command for h in heard]
        if clip.word in WORDS:
            total += 1
            ok = got == [WORDS[clip.word]]
            hits += ok
        else:
            others += 1
            ok = not got
            rejected += ok
        if verbose and not ok:
            print(f"  miss {clip.word:8} {clip.path.name}: {[h.text for h in heard]} decoded {_DECODED}")
    return hits / max(1, total), rejected / max(1, others), total, others


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("overrides", nargs="*", help="NAME=VALUE of RecognitionSettings")
    ap.add_argument("--split", choices=["tune", "test", "all"], default="tune")
    ap.add_argument("--snrs", default="clean", help="comma-separated: clean and/or SNRs in dB over the running tap")
    ap.add_argument("-v", "--verbose", action="store_true", help="list the clips that went wrong")
    args = ap.parse_args(argv)
    from voiceguide.speech.sphinx import SphinxRecognizer

    if args.verbose:
        log = logging.getLogger("voiceguide.speech.sphinx")
        log.setLevel(logging.DEBUG)
        log.addHandler(_Decoded())

    pairs = [parse_override(o) for o in args.overrides]
    options = tuple((k[4:], str(v)) for k, v in pairs if k.startswith("opt."))
    settings = RecognitionSettings(**{k: v for k, v in pairs if not k.startswith("opt.")}, sphinx_options=options)
    clips = [c for c in corpus_clips() if args.split == "all" or c.split == args.split]
    rec = SphinxRecognizer(builtin_vocabulary("en"), settings=settings)
    noise = read16(CORPUS / "noise" / "running_tap.wav")
    print(f"split={args.split} {' '.join(args.overrides) or '(defaults)'}")
    for snr in args.snrs.split(","):
        t = time.process_time()
        if snr == "clean":
            acc, rej, n, m = rates(rec, clips, verbose=args.verbose)
        else:
            acc, rej, n, m = rates(rec, clips, noise, float(snr), verbose=args.verbose)
        print(f"  {snr:>5}: accepted {acc:6.1%} of {n}, rejected {rej:6.1%} of {m}  ({time.process_time() - t:.0f} s cpu)",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
