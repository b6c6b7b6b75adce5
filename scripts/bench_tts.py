#!/usr/bin/env python3
"""Narration figures per engine (Piper, pyttsx3): whole-pack render time, real-time factor, cache size,
and how soon a cached sentence is ready to play.

For each engine, into a fresh render cache:
  - render every sentence of the pack at its tempo (what `voiceguide pack render PACK --tts ENGINE` does):
    wall time, seconds of speech, real-time factor (render time / speech time), cache size on disk;
  - optionally every tempo 'slower'/'faster' can reach (--all-tempos);
  - command → first narration sample from cache: a fresh Narrator (nothing in memory) reads, decodes and
    resamples a cached sentence to the Player's 44,100 Hz (time until its first sample can be handed to
    the Player), plus the silence the rendering itself starts with (until the first sample above 1 %);
  - a sentence rendered on demand (after "slower", before render-ahead reached it): median, p95, max;
  - the spoken rate actually heard: words per minute over the pack at the rate asked.

usage: .venv/bin/python scripts/bench_tts.py [--engines piper,pyttsx3] [--pack facial-massage] [--all-tempos] [--json]
                                             [--markdown BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _benchlib as bl  # noqa: E402

PLAYER_RATE = 44100


def leading_silence(samples: np.ndarray, rate: int, threshold: float = 0.01) -> float:
    """Seconds before the first sample above `threshold` of full scale."""
    loud = np.nonzero(np.abs(samples) > threshold)[0]
    return float(loud[0]) / rate if loud.size else float(len(samples)) / rate


def bench_engine(engine: str, pack, rate: int | None, all_tempos: bool, trials: int) -> dict[str, object]:
    from voiceguide.audio.clip import read_wav
    from voiceguide.voice.narrator import Narrator, NarratorSettings
    from voiceguide.voice.render import pack_sentences, reachable_tempos, render_pack

    cache = Path(tempfile.mkdtemp(prefix=f"vg-bench-{engine}-"))
    settings = NarratorSettings(engine=engine, voice=pack.voice.name, language=pack.pack.language,
                                rate=rate or pack.voice.rate, cache_dir=cache, cache_max_bytes=None)
    result: dict[str, object] = {"engine": engine}
    t0 = time.perf_counter()
    with Narrator(settings) as narrator:
        result["voice"] = narrator.voice_id
        narrator.render("Warm up.")  # engine start and model load, timed apart from the pack
        result["start_s"] = round(time.perf_counter() - t0, 3)
        t1 = time.perf_counter()
        items = render_pack(pack, narrator, None, tempos=[pack.voice.tempo])
        took = time.perf_counter() - t1
        speech = sum(i.duration for i in items)
        words = sum(len(i.text.split()) for i in items)
        result.update(
            sentences=len(items),
            speech_s=round(speech, 1),
            render_s=round(took, 2),
            rtf=round(took / speech, 3),
            rate_asked_wpm=narrator.rate_for(round(1.0 / pack.voice.tempo, 4)),
            wpm_heard=round(words / speech * 60, 1),
            cache_mb=round(sum(p.stat().st_size for p in narrator.cache.entries()) / 2**20, 2),
        )
        # after "slower" (tempo ×1.25): a sentence not rendered yet is synthesized on demand
        on_demand = []
        for item in items:
            t = time.perf_counter()
            narrator.render(item.text, 0.8)
            on_demand.append(time.perf_counter() - t)
        result.update(
            on_demand_ms_median=round(statistics.median(on_demand) * 1000, 1),
            on_demand_ms_p95=round(sorted(on_demand)[int(0.95 * (len(on_demand) - 1))] * 1000, 1),
            on_demand_ms_max=round(max(on_demand) * 1000, 1),
        )
        if all_tempos:
            t2 = time.perf_counter()
            every = render_pack(pack, narrator, None, tempos=reachable_tempos(pack.voice.tempo))
            result.update(
                all_tempos_sentences=len(every),
                all_tempos_render_s=round(time.perf_counter() - t2 + took, 1),
                all_tempos_cache_mb=round(sum(p.stat().st_size for p in narrator.cache.entries()) / 2**20, 1),
            )
        silences = [leading_silence(read_wav(narrator.render(i.text)).samples, read_wav(narrator.render(i.text)).sample_rate)
                    for i in items]
        result["sample_rate"] = read_wav(narrator.render(items[0].text)).sample_rate
    # command → first sample: a fresh narrator, as after a restart: disk read + decode + resample
    ready = []
    texts = [s.text for s in pack_sentences(pack)]
    with Narrator(settings) as fresh:
        _ = fresh.voice_id  # resolved once at start, as a session does
        for i in range(trials):
            text = texts[(i * 7) % len(texts)]
            t = time.perf_counter()
            clip = fresh.clip(text).at_rate(PLAYER_RATE)
            ready.append(time.perf_counter() - t)
            assert clip.samples.size
            fresh._memory.clear()  # noqa: SLF001 - every trial from disk, none from memory
        assert fresh.renders == 0, "the bench expected every sentence in the cache"
    shutil.rmtree(cache, ignore_errors=True)
    result.update(
        ready_ms_median=round(statistics.median(ready) * 1000, 1),
        ready_ms_p95=round(sorted(ready)[int(0.95 * (len(ready) - 1))] * 1000, 1),
        leading_silence_ms_median=round(statistics.median(silences) * 1000, 1),
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="piper,pyttsx3", help="comma-separated engines")
    parser.add_argument("--pack", default="facial-massage", help="a pack id or folder (default: the built-in)")
    parser.add_argument("--rate", type=int, default=None, help="words per minute (default: the pack's)")
    parser.add_argument("--all-tempos", action="store_true", help="also render every reachable tempo")
    parser.add_argument("--trials", type=int, default=40, help="cached-sentence reads to time")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--markdown", type=Path, default=None, help="replace the narration section of this file")
    args = parser.parse_args(argv)

    from voiceguide.cli.pack import open_pack

    report: dict[str, object] = {"machine": bl.machine(), "date": bl.now_utc(), "command": bl.command_line("bench_tts.py", argv)}
    loaded = open_pack(args.pack, None)
    results = [bench_engine(e, loaded.pack, args.rate, args.all_tempos, args.trials) for e in args.engines.split(",")]
    report.update(pack=loaded.pack.pack.id, results=results, trials=args.trials)
    if args.markdown:
        bl.replace_section(args.markdown, KEY, markdown(report))
    print(json.dumps(report, indent=2) if args.json else markdown(report))
    return 0


KEY = "narration"


def markdown(r: dict) -> str:
    """The narration section of BENCHMARKS.md: one column per engine, goals where an issue sets one."""
    res = r["results"]
    names = [f"{x['engine']} (`{x['voice']}`)" for x in res]

    def row(what: str, key: str, fmt: str = "{}", goal: str | None = None, ok=None) -> list[object]:  # noqa: ANN001
        vals = [fmt.format(x[key]) if x.get(key) is not None else None for x in res]
        oks = [ok(x[key]) if ok and x.get(key) is not None else None for x in res]
        return [what, *vals, goal, ", ".join(f"{x['engine']}: {bl.met(o)}" for x, o in zip(res, oks, strict=True)) if ok else None]

    rows = [
        row("engine start + first sentence (model load)", "start_s", "{:.2f} s"),
        row("whole pack at its tempo: render time", "render_s", "{:.1f} s"),
        row("… seconds of speech rendered", "speech_s", "{:.0f} s"),
        row("… real-time factor (render time / speech time)", "rtf", "{:.3f}", "< 1: renders ahead faster than it speaks",
            lambda v: v < 1),
        row("… render cache on disk", "cache_mb", "{:.1f} MB"),
        row("every tempo 'slower'/'faster' can reach: sentences", "all_tempos_sentences"),
        row("… render time", "all_tempos_render_s", "{:.0f} s"),
        row("… render cache on disk", "all_tempos_cache_mb", "{:.0f} MB"),
        row("spoken rate heard (words / seconds of audio, pauses included)", "wpm_heard", "{:.0f} wpm"),
        row(f"cached sentence → ready to play at 44.1 kHz (read, decode, resample), median ({r['trials']} reads)",
            "ready_ms_median", "{:.1f} ms"),
        row("… 95th percentile", "ready_ms_p95", "{:.1f} ms", "≤ 150 ms command → first sample, from cache (#5)",
            lambda v: v <= 150),
        row("silence at the start of a rendering (median, to the first sample above 1 %)", "leading_silence_ms_median",
            "{:.0f} ms"),
        row("a sentence not rendered yet, synthesized on demand (after 'slower'): median", "on_demand_ms_median", "{:.0f} ms"),
        row("… 95th percentile", "on_demand_ms_p95", "{:.0f} ms"),
        row("… max", "on_demand_ms_max", "{:.0f} ms"),
    ]
    rows = [x for x in rows if any(v is not None for v in x[1:1 + len(res)])]
    lines = ["## Narration engines", ""]
    lines += bl.run_header(r["command"], r["date"], r["machine"])
    lines += [f"Pack: `{r['pack']}`, every sentence rendered into a fresh cache at its tempo (what `voiceguide pack "
              "render PACK --tts ENGINE` does). Piper runs onnxruntime on one thread (voiceguide's default, so rendering "
              "ahead leaves a core to the recognizer); pyttsx3 drives espeak-ng in its worker process.", ""]
    lines += bl.table(["what", *names, "goal", "met?"], rows)
    lines += ["", "The session renders the rest of the pack ahead after 'slower'/'faster', but the first sentence at a "
              "new rate that is not cached yet waits for the engine (the on-demand rows); where that matters (a "
              "Raspberry Pi is slower still), pre-render every tempo once: "
              "`voiceguide pack render facial-massage --tts piper --all-tempos`.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
