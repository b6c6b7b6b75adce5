#!/usr/bin/env python3
"""Build the MLLR transform shipped with the pocketsphinx fallback, from the *tuning* speakers' clips only.

pocketsphinx's bundled en-us model was trained on read and broadcast speech; the people who will talk to
voiceguide use laptop and phone microphones in a room, like the Speech Commands clips. One global MLLR
transform of the Gaussian means (a 39×40 matrix per feature stream, a small text file) moves the model
toward that channel without retraining it. Only clips whose speaker falls in the 'tune' half of the fixed
split (`scripts/corpus.py`, `CorpusClip.split`) are used, so the 'test' speakers stay unseen.

Needs SphinxTrain and sphinx_fe (Debian: `apt-get install sphinxtrain sphinxbase-utils pocketsphinx`):

    .venv/bin/python scripts/adapt_sphinx.py                  # writes voiceguide/speech/data/en-us.mllr
    .venv/bin/python scripts/adapt_sphinx.py --out /tmp/x.mllr --keep /tmp/adapt   # keep the work folder
    .venv/bin/python scripts/adapt_sphinx.py --split test --out /tmp/cross.mllr       # cross-check only
"""

from __future__ import annotations

import argparse
import shutil
import struct
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # corpus.py: the audio helpers the tests use too

from corpus import CORPUS, corpus_clips, mix, read16  # noqa: E402

SPHINXTRAIN = Path("/usr/lib/sphinxtrain")
OUT = ROOT / "voiceguide" / "speech" / "data" / "en-us.mllr"
AUGMENT_NOISES = ("doing_the_dishes", "pink_noise")
"""Noises for --noisy copies; not the running tap, which the tests and benchmarks mix in."""


def read_sendump(path: Path) -> np.ndarray:
    """The model's 8-bit quantized mixture weights as probabilities, shaped (senones, streams, densities)."""
    data = path.read_bytes()
    pos = 0

    def u32() -> int:
        nonlocal pos
        (v,) = struct.unpack_from("<I", data, pos)
        pos += 4
        return v

    def text() -> str | None:
        nonlocal pos
        n = u32()
        if n == 0:
            return None
        s = data[pos : pos + n - 1].decode()
        pos += n
        return s

    text()  # title
    header: dict[str, int] = {}
    while (line := text()) is not None:
        key, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdigit():
            header[key] = int(value)
    shift = header.get("mixw_shift", 10)
    streams = header["feature_count"]
    if header.get("cluster_count", 0) != 0:
        raise SystemExit("clustered sendump files are not supported")
    densities, senones = u32(), u32()
    q = np.frombuffer(data, dtype=np.uint8, count=streams * densities * senones, offset=pos)
    q = q.reshape(streams, densities, senones).astype(np.int64) << shift
    mixw = np.power(1.0001, -q.astype(np.float64)).transpose(2, 0, 1)
    return mixw / mixw.sum(axis=2, keepdims=True)


def write_s3_3d(path: Path, array: np.ndarray) -> None:
    """A SphinxTrain binary parameter file (as s3file.py writes it)."""
    head = b"s3\nversion 1.0\n"
    pad = (len(head) + len(b"endhdr\n")) & 3
    head += b" " * ((4 - pad) if pad else 0) + b"endhdr\n"
    d1, d2, d3 = array.shape
    with open(path, "wb") as f:
        f.write(head + struct.pack("=i", 0x11223344) + struct.pack("=IIII", d1, d2, d3, d1 * d2 * d3))
        f.write(np.ascontiguousarray(array, dtype="<f4").tobytes())


def run(cmd: list[str], log: Path) -> None:
    with open(log, "ab") as f:
        f.write(("$ " + " ".join(cmd) + "\n").encode())
        subprocess.run(cmd, check=True, stdout=f, stderr=subprocess.STDOUT)


def prepare(work: Path, model: Path, split: str, noisy: bool) -> Path:
    """Model copy with text mdef and float mixture weights, features and transcripts of one split's clips."""
    log = work / "log.txt"
    hmm = work / "hmm"
    hmm.mkdir(exist_ok=True)
    for name in ("means", "variances", "transition_matrices", "feat.params", "noisedict", "mdef"):
        shutil.copy(model / "en-us" / name, hmm / name)
    run(["pocketsphinx_mdef_convert", "-text", str(model / "en-us" / "mdef"), str(hmm / "mdef.txt")], log)
    write_s3_3d(hmm / "mixture_weights", read_sendump(model / "en-us" / "sendump"))
    lexicon: dict[str, str] = {}
    for line in (model / "cmudict-en-us.dict").read_text().splitlines():
        word, _, phones = line.partition(" ")
        lexicon.setdefault(word, phones.strip())
    clips = [c for c in corpus_clips() if c.split == split and c.word in lexicon]
    (work / "wav").mkdir(exist_ok=True)
    noises = [read16(CORPUS / "noise" / f"{n}.wav") for n in AUGMENT_NOISES] if noisy else []
    ids = []
    for i, clip in enumerate(clips):
        name = f"{clip.word}_{clip.path.stem}"
        audio = read16(clip.path)
        write_wav(work / "wav" / f"{name}.wav", audio)
        ids.append((name, clip.word))
        for k, noise in enumerate(noises):  # one noisy copy per noise, at 10-20 dB
            snr = 10.0 + 10.0 * ((i + k) % 3) / 2
            write_wav(work / "wav" / f"{name}_n{k}.wav", mix(audio, noise, snr, offset=i * 7919))
            ids.append((f"{name}_n{k}", clip.word))
    (work / "ctl").write_text("".join(f"{n}\n" for n, _ in ids))
    (work / "trans").write_text("".join(f"<s> {w} </s> ({n})\n" for n, w in ids))
    (work / "dict").write_text("".join(f"{w} {lexicon[w]}\n" for w in sorted({w for _, w in ids})))
    (work / "mfc").mkdir(exist_ok=True)
    run(["sphinx_fe", "-argfile", str(hmm / "feat.params"), "-samprate", "16000", "-c", str(work / "ctl"),
         "-di", str(work / "wav"), "-do", str(work / "mfc"), "-ei", "wav", "-eo", "mfc", "-mswav", "yes",
         "-remove_silence", "no", "-dither", "yes", "-seed", "1"], log)
    print(f"{len(ids)} utterances from {len(clips)} clips of the '{split}' speakers")
    return hmm


def accumulate(work: Path, hmm: Path, acc: Path, mllr: Path | None = None) -> None:
    """Baum-Welch statistics of the adaptation utterances under this model (and transform)."""
    if acc.exists():
        shutil.rmtree(acc)
    acc.mkdir()
    run([str(SPHINXTRAIN / "bw"), "-hmmdir", str(hmm), "-moddeffn", str(hmm / "mdef.txt"), "-ts2cbfn", ".ptm.",
         "-feat", "1s_c_d_dd", "-svspec", "0-12/13-25/26-38", "-cmn", "batch", "-agc", "none",
         "-dictfn", str(work / "dict"), "-fdictfn", str(hmm / "noisedict"), "-ctlfn", str(work / "ctl"),
         "-lsnfn", str(work / "trans"), "-accumdir", str(acc), "-cepdir", str(work / "mfc"),
         *(["-mllrmat", str(mllr)] if mllr else [])], work / "log.txt")


def solve_mllr(work: Path, hmm: Path, acc: Path, out: Path) -> None:
    run([str(SPHINXTRAIN / "mllr_solve"), "-meanfn", str(hmm / "means"), "-varfn", str(hmm / "variances"),
         "-outmllrfn", str(out), "-accumdir", str(acc)], work / "log.txt")


def map_model(work: Path, hmm: Path, acc: Path, out: Path, tau: float) -> None:
    """A MAP-adapted copy of the model in `out` (means, variances, mixture weights as sendump)."""
    out.mkdir(exist_ok=True)
    log = work / "log.txt"
    run([str(SPHINXTRAIN / "map_adapt"), "-moddeffn", str(hmm / "mdef.txt"), "-ts2cbfn", ".ptm.",
         "-meanfn", str(hmm / "means"), "-varfn", str(hmm / "variances"), "-mixwfn", str(hmm / "mixture_weights"),
         "-tmatfn", str(hmm / "transition_matrices"), "-accumdir", str(acc), "-tau", str(tau),
         "-mapmeanfn", str(out / "means"), "-mapvarfn", str(out / "variances"),
         "-mapmixwfn", str(work / "map_mixture_weights"), "-maptmatfn", str(out / "transition_matrices")], log)
    run([str(SPHINXTRAIN / "mk_s2sendump"), "-pocketsphinx", "yes", "-moddeffn", str(hmm / "mdef.txt"),
         "-mixwfn", str(work / "map_mixture_weights"), "-sendumpfn", str(out / "sendump")], log)
    for name in ("mdef", "feat.params", "noisedict"):
        shutil.copy(hmm / name, out / name)


def write_wav(path: Path, audio: np.ndarray) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(audio.astype("<i2").tobytes())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=OUT, help="the MLLR transform (or, with --map, a model folder)")
    ap.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it (default: a temporary one)")
    ap.add_argument("--iterations", type=int, default=2, help="MLLR passes (each realigns with the last transform)")
    ap.add_argument("--noisy", action="store_true", help=f"add copies of each clip mixed with {AUGMENT_NOISES}")
    ap.add_argument("--map", type=float, default=None, metavar="TAU", help="MAP-adapt a whole model after MLLR")
    ap.add_argument("--split", default="tune", choices=["tune", "test"],
                    help="whose clips to adapt on; 'test' only for a cross-check written outside the package")
    args = ap.parse_args(argv)
    if args.split != "tune" and args.out.resolve().is_relative_to(ROOT / "voiceguide"):
        raise SystemExit("only the tuning speakers may shape what the package ships")
    for tool in ("bw", "mllr_solve", "map_adapt", "mk_s2sendump"):
        if not (SPHINXTRAIN / tool).exists():
            raise SystemExit(f"{SPHINXTRAIN / tool} is missing: apt-get install sphinxtrain sphinxbase-utils pocketsphinx")
    import pocketsphinx

    model = Path(pocketsphinx.get_model_path()) / "en-us"
    work = args.keep or Path(tempfile.mkdtemp(prefix="adapt-sphinx-"))
    work.mkdir(parents=True, exist_ok=True)
    hmm = prepare(work, model, args.split, args.noisy)
    mllr: Path | None = None
    for k in range(args.iterations):
        accumulate(work, hmm, work / "acc", mllr)
        solve_mllr(work, hmm, work / "acc", work / f"mllr_{k}")
        mllr = work / f"mllr_{k}"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.map is not None:
        adapted = hmm
        if mllr is not None:  # MAP starts from the MLLR-moved means
            adapted = work / "hmm_mllr"
            shutil.copytree(hmm, adapted, dirs_exist_ok=True)
            run([str(SPHINXTRAIN / "mllr_transform"), "-inmeanfn", str(hmm / "means"), "-outmeanfn",
                 str(adapted / "means"), "-mllrmat", str(mllr)], work / "log.txt")
        accumulate(work, adapted, work / "acc_map")
        map_model(work, adapted, work / "acc_map", args.out, args.map)
    elif mllr is not None:
        shutil.copy(mllr, args.out)
    if args.keep is None:
        shutil.rmtree(work)
    print(f"→ {args.out}" + (f" (work: {work})" if args.keep else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
