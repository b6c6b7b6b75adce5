#!/usr/bin/env python3
"""How well and how fast voiceguide hears: accuracy, rejection, self-trigger, latency and cost, per engine.

Builds every test set itself, deterministically (fixed voices, rates, seeds and noise offsets):
  speech-commands/<noise>/<snr>  the human clips of ../shared/corpus, clean and mixed with each noise
  synth                          command phrases spoken by espeak-ng in several voices, rates and pitches
  talk                           ordinary sentences read by espeak-ng (false commands per hour)
  narration                      the built-in pack's narration, with and without the echo guard (English)

    .venv/bin/python scripts/bench_recognition.py --engine pocketsphinx --out bench-ps.json --markdown BENCHMARKS.md
    .venv/bin/python scripts/bench_recognition.py --engine vosk --language ko --out bench-vosk-ko.json --markdown BENCHMARKS.md
    .venv/bin/python scripts/bench_recognition.py --engine vosk --model PATH/TO/vosk-model-small-en-us-0.15 ...
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _benchlib as bl  # noqa: E402
from corpus import CORPUS, espeak, held_out_clips, mix, narration_audio, pack_narration, read16, silence  # noqa: E402

from voiceguide.core.commands import Command, builtin_vocabulary  # noqa: E402
from voiceguide.speech.base import RecognitionSettings  # noqa: E402
from voiceguide.speech.echo import EchoGuard  # noqa: E402
from voiceguide.speech.factory import create_recognizer  # noqa: E402

CHUNK = 320  # 20 ms
RATE = 16000
CORPUS_WORDS = {"stop": Command.STOP, "go": Command.RESUME, "yes": Command.YES, "no": Command.NO}
VOICES = {"en": ["en-us", "en-us+f3", "en-gb", "en-us+m3"], "ko": ["ko", "ko+f3", "ko+m3"]}
RATES = (130, 160, 190)
PITCHES = (35, 60)
TALK = {
    "en": [
        "The market opens early on Saturdays, and most of the farmers arrive before the sun is fully up.",
        "She told me that the train had been late again, so we decided to walk the rest of the way home.",
        "Our neighbours are planting a small garden with tomatoes, beans and a row of tall sunflowers.",
        "If you read the instructions carefully, the cabinet takes about an hour to put together.",
        "The museum has a new exhibition about the history of maps and how sailors found their way.",
        "He spent the afternoon fixing the bicycle, then rode it down to the lake to see the boats.",
        "Most of the rain this month fell in a single week, and the river rose higher than anyone expected.",
        "The recipe calls for two cups of flour, a little salt, butter, and enough cold water to bind it.",
        "Children in the village learn to swim in the summer, when the water in the bay is warm enough.",
        "The library will be closed on Monday while the old heating system is replaced with a new one.",
        "A good pair of shoes makes a long walk much more pleasant, especially on rough mountain paths.",
        "The orchestra played for nearly two hours, and the audience asked for one more piece at the end.",
    ],
    "ko": [
        "오늘은 날씨가 정말 좋아서 공원에 산책을 갔어요.",
        "시장에는 아침 일찍부터 많은 사람들이 모여 있었습니다.",
        "저녁으로 김치찌개를 끓이고 밥을 새로 지었어요.",
        "도서관은 월요일에 문을 닫고 화요일에 다시 엽니다.",
        "아이들은 여름 방학 동안 바닷가에서 수영을 배웠어요.",
        "기차가 늦게 도착해서 우리는 집까지 걸어가기로 했습니다.",
    ],
}


class Runner:
    """Feeds audio in 20 ms chunks and times what comes out."""

    def __init__(self, recognizer) -> None:  # noqa: ANN001 - a Recognizer
        self.rec = recognizer
        self.audio_seconds = 0.0
        self.cpu_seconds = 0.0
        self.wall_seconds = 0.0

    def run(self, samples: np.ndarray) -> list[tuple[object, float, float]]:
        """(Heard, stream position when it came out, compute seconds of the feed that produced it)."""
        self.rec.reset()
        out = []
        c0, w0 = time.process_time(), time.perf_counter()
        for i in range(0, len(samples), CHUNK):
            t = time.perf_counter()
            heard = self.rec.feed(samples[i : i + CHUNK])
            spent = time.perf_counter() - t
            pos = min(len(samples), i + CHUNK) / RATE
            out.extend((h, pos, spent) for h in heard)
        t = time.perf_counter()
        heard = self.rec.flush()
        out.extend((h, len(samples) / RATE, time.perf_counter() - t) for h in heard)
        self.cpu_seconds += time.process_time() - c0
        self.wall_seconds += time.perf_counter() - w0
        self.audio_seconds += len(samples) / RATE
        return out


def speech_end(samples: np.ndarray) -> float:
    """Where the last loud 10 ms frame ends (espeak pads its output with silence)."""
    frames = samples[: len(samples) // 160 * 160].astype(np.float32).reshape(-1, 160)
    energy = np.sqrt((frames**2).mean(axis=1))
    loud = np.nonzero(energy > max(100.0, 0.05 * energy.max()))[0]
    return (loud[-1] + 1) * 160 / RATE if len(loud) else 0.0


def corpus_set(runner: Runner, noise: np.ndarray | None, snr: float | None) -> dict:
    hits = commands = rejected = others = wrong = 0
    for i, clip in enumerate(held_out_clips()):
        audio = read16(clip.path)
        if noise is not None:
            audio = mix(audio, noise, snr, offset=i * 7919)
        got = [h.command for h, _, _ in runner.run(np.concatenate([silence(0.3), audio, silence(0.5)]))]
        if clip.word in CORPUS_WORDS:
            commands += 1
            hits += got == [CORPUS_WORDS[clip.word]]
            wrong += any(c != CORPUS_WORDS[clip.word] for c in got)
        else:
            others += 1
            rejected += not got
    return {"command_accuracy": hits / commands, "wrong_command": wrong / commands, "rejection": rejected / others,
            "commands": commands, "non_commands": others}


def stream_set(runner: Runner, noise: np.ndarray, snr: float) -> dict:
    """The held-out command clips, one every 4 s, over one continuous noise (as when a tap runs the whole time)."""
    clips = [c for c in held_out_clips() if c.word in CORPUS_WORDS]
    speech = [read16(c.path).astype(np.float64) for c in clips]
    track = np.zeros(RATE * 4 * len(clips))
    for k, s in enumerate(speech):
        track[k * 4 * RATE + RATE : k * 4 * RATE + RATE + len(s)] += s
    # speech power measured over the louder half of each clip's 10 ms frames, as in `mix`
    loud = [np.sort((s[: len(s) // 160 * 160].reshape(-1, 160) ** 2).mean(axis=1))[-(len(s) // 320):].mean() for s in speech]
    n = np.resize(noise.astype(np.float64), len(track))
    n *= np.sqrt(float(np.mean(loud)) / (float(np.mean(n**2)) * 10 ** (snr / 10)))
    out = runner.run(np.clip(track + n, -32768, 32767).astype(np.int16))
    hits = 0
    for k, c in enumerate(clips):
        t = k * 4 + 1
        got = [h.command for h, _, _ in out if t - 0.3 <= h.end <= t + 1.8]
        hits += got == [CORPUS_WORDS[c.word]]
    stray = sum(1 for h, _, _ in out if not any(k * 4 + 0.7 <= h.end <= k * 4 + 2.8 for k in range(len(clips))))
    return {"command_accuracy": hits / len(clips), "commands": len(clips), "events": len(out), "stray_events": stray}


def synth_set(runner: Runner, language: str) -> dict:
    vocab = builtin_vocabulary(language)
    hits = n = wrong = 0
    audio_lat, compute_lat = [], []
    per_voice: dict[str, list[int]] = {}
    for voice in VOICES[language]:
        for speed in RATES:
            for pitch in PITCHES:
                for phrase, command in vocab.all_phrases().items():
                    word = espeak(phrase, voice, speed, pitch)
                    end = 0.4 + speech_end(word)
                    out = runner.run(np.concatenate([silence(0.4), word, silence(1.0)]))
                    n += 1
                    got = [h.command for h, _, _ in out]
                    hits += got == [command]
                    wrong += any(c != command for c in got)
                    tally = per_voice.setdefault(voice, [0, 0])
                    tally[0] += got == [command]
                    tally[1] += 1
                    if got == [command]:
                        _, pos, spent = out[0]
                        audio_lat.append(pos - end)
                        compute_lat.append(spent)
    total = [a + c for a, c in zip(audio_lat, compute_lat, strict=True)]

    def pct(xs: list[float], q: float) -> float | None:
        return float(np.percentile(xs, q)) if xs else None

    return {
        "command_accuracy": hits / n, "wrong_command": wrong / n, "utterances": n,
        "accuracy_per_voice": {v: h / t for v, (h, t) in per_voice.items()},
        "latency_median": pct(total, 50), "latency_p95": pct(total, 95),
        "latency_audio_median": pct(audio_lat, 50), "latency_audio_p95": pct(audio_lat, 95),
        "latency_compute_median": pct(compute_lat, 50), "latency_compute_p95": pct(compute_lat, 95),
    }


def talk_set(runner: Runner, language: str) -> dict:
    voices = VOICES[language][:2]
    parts, false = [], 0
    for voice in voices:
        audio, _ = narration_audio(TALK[language], voice=voice, gap=0.6) if language == "en" else _talk_ko(voice)
        parts.append(audio)
    seconds = 0.0
    heard = []
    for audio in parts:
        out = runner.run(audio)
        seconds += len(audio) / RATE
        heard += [h.text for h, _, _ in out]
        false += len(out)
    return {"false_commands": false, "seconds": seconds, "false_per_hour": false * 3600 / seconds, "heard": heard}


def _talk_ko(voice: str):
    parts = [silence(0.3)]
    for text in TALK["ko"]:
        parts += [espeak(text, voice), silence(0.6)]
    return np.concatenate(parts), []


def narration_set(runner: Runner, language: str) -> dict | None:
    if language != "en":
        return None
    from voiceguide.packs.loader import load_pack

    audio, spans = narration_audio(pack_narration(load_pack("facial-massage").pack))
    out = [h for h, _, _ in runner.run(audio)]
    guard = EchoGuard(builtin_vocabulary(language))
    for text, start, end in spans:
        guard.playing(text, start, end)
    kept = guard.filter(out)
    hours = len(audio) / RATE / 3600
    return {"seconds": len(audio) / RATE, "without_guard": len(out), "with_guard": len(kept),
            "without_guard_per_hour": len(out) / hours, "with_guard_per_hour": len(kept) / hours,
            "heard_without_guard": [h.text for h in out]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engine", choices=["vosk", "pocketsphinx"], default=None, help="required unless --from-json")
    ap.add_argument("--model", type=Path, default=None, help="any vosk model folder")
    ap.add_argument("--language", default="en")
    ap.add_argument("--out", type=Path, default=None, help="write all figures as JSON here")
    ap.add_argument("--markdown", type=Path, default=None, help="update this engine's section of BENCHMARKS.md")
    ap.add_argument("--corpora", default="speech-commands,stream,synth,talk,narration",
                    help="comma-separated: speech-commands, stream, synth, talk, narration")
    ap.add_argument("--snrs", default="20,10,5,0")
    ap.add_argument("--noises", default="running_tap,doing_the_dishes,pink_noise")
    ap.add_argument("--from-json", type=Path, default=None, help="re-render the Markdown of a saved --out file, run nothing")
    args = ap.parse_args(argv)
    if args.from_json is not None:
        saved = json.loads(args.from_json.read_text())
        if args.markdown:
            update_markdown(args.markdown, saved)
        print(markdown(saved))
        return 0
    if args.engine is None:
        ap.error("--engine is required")
    machine_at_start, date_at_start = bl.machine(), bl.now_utc()
    wanted = set(args.corpora.split(","))
    lang = args.language.split("-")[0]

    t0 = time.perf_counter()
    settings = RecognitionSettings(engine=args.engine, language=args.language, model=args.model, env=dict(os.environ))
    rss0 = bl.self_peak_rss_mb()
    rec, _ = create_recognizer(settings, builtin_vocabulary(args.language))
    load_seconds = time.perf_counter() - t0
    rss_loaded = bl.self_peak_rss_mb()
    runner = Runner(rec)
    results: dict = {"engine": rec.engine, "language": args.language, "model": str(getattr(getattr(rec, "_model", None), "path", "")),
                     "load_seconds": load_seconds, "sets": {}}

    if "speech-commands" in wanted and lang == "en":
        results["sets"]["speech-commands/clean"] = corpus_set(runner, None, None)
        for name in args.noises.split(","):
            noise = read16(CORPUS / "noise" / f"{name}.wav")
            for snr in (float(s) for s in args.snrs.split(",")):
                results["sets"][f"speech-commands/{name}/{snr:g}dB"] = corpus_set(runner, noise, snr)
                print(f"speech-commands/{name}/{snr:g}dB", results["sets"][f"speech-commands/{name}/{snr:g}dB"], file=sys.stderr)
    if "stream" in wanted and lang == "en":
        noise = read16(CORPUS / "noise" / "running_tap.wav")
        for snr in (20.0, 10.0, 5.0):
            results["sets"][f"stream/running_tap/{snr:g}dB"] = stream_set(runner, noise, snr)
    if "synth" in wanted:
        results["sets"]["synth"] = synth_set(runner, lang)
    if "talk" in wanted:
        results["sets"]["talk"] = talk_set(runner, lang)
    if "narration" in wanted:
        narr = narration_set(runner, lang)
        if narr is not None:
            results["sets"]["narration"] = narr
    results["cost"] = {
        "rtf_cpu": runner.cpu_seconds / runner.audio_seconds,
        "rtf_wall": runner.wall_seconds / runner.audio_seconds,
        "audio_seconds": runner.audio_seconds,
        "peak_rss_mb": bl.self_peak_rss_mb(),
        "rss_before_model_mb": rss0,
        "rss_after_load_mb": rss_loaded,
        "model_load_seconds": load_seconds,
    }
    results["machine"] = machine_at_start
    results["command"] = bl.command_line("bench_recognition.py", argv)
    results["date"] = date_at_start
    text = json.dumps(results, indent=2, ensure_ascii=False)
    if args.out:
        args.out.write_text(text + "\n")
    if args.markdown:
        update_markdown(args.markdown, results)
    print(markdown(results))
    return 0


GOALS = {"acc10": 0.98, "acc5": 0.95, "rejection": 0.95, "false_per_hour": 0.1, "self_trigger": 0.0,
         "latency_median": 0.300, "latency_p95": 0.500, "rtf": 0.05}


NOTES = {
    "pocketsphinx": (
        "Closing note: the English fallback is pocketsphinx (its bundled model with one MLLR transform) checked by a "
        "verifier (Google's speech embedding and a classifier trained by scripts/train_verifier.py on synthesized "
        "speech and the tuning speakers). Where it falls short of a goal above (the strict #6 goals in loud running "
        "water), the primary engine, vosk with an English model (`voiceguide model fetch vosk-model-small-en-us-0.15`; "
        "measure it with this script's `--engine vosk --model PATH`), is the next step; acting on a stable partial "
        "result would cut the latency tail."
    ),
    "vosk": (
        "Closing note: there is no Korean human corpus here, so the human-clip goals are not measured for Korean; the "
        "synthesized Korean is rough (espeak-ng), so its accuracy measures espeak as much as vosk. The same script "
        "with `--model PATH` to an English vosk model (none is installed on this machine) gives every goal's figure."
    ),
}


def _rss_goal(engine: str) -> float:
    return 150.0 if engine == "pocketsphinx" else 350.0


def goal_rows(r: dict) -> list[list[object]]:
    """Issue #6's goals (and #4's for the English fallback) beside this run's figures."""
    sets, c = r["sets"], r["cost"]
    tap10, tap5 = sets.get("speech-commands/running_tap/10dB"), sets.get("speech-commands/running_tap/5dB")
    clean = sets.get("speech-commands/clean")
    synth, talk, narr = sets.get("synth"), sets.get("talk"), sets.get("narration")
    none = "not measured"
    rows: list[list[object]] = []

    def row(what: str, value: float | None, text: str | None, goal: str, ok: bool | None) -> None:
        rows.append([what, text if value is not None else none, goal, bl.met(ok)])

    v = tap10 and tap10["command_accuracy"]
    row("command accuracy, human clips in running water at 10 dB (#6)", v, bl.pct(v), "≥ 98%", bl.at_least(v, GOALS["acc10"]))
    v = tap5 and tap5["command_accuracy"]
    row("command accuracy, human clips in running water at 5 dB (#6)", v, bl.pct(v), "≥ 95%", bl.at_least(v, GOALS["acc5"]))
    v = clean and clean["rejection"]
    row("rejection of non-commands, clean human clips (#6)", v, bl.pct(v), "≥ 95%", bl.at_least(v, GOALS["rejection"]))
    if r["engine"] == "pocketsphinx" and r["language"].startswith("en"):
        v = clean and clean["command_accuracy"]
        row("English fallback: commands accepted, clean human clips (#4)", v, bl.pct(v), "≥ 90%", bl.at_least(v, 0.90))
        v = clean and clean["rejection"]
        row("English fallback: non-commands rejected, clean human clips (#4)", v, bl.pct(v), "≥ 90%", bl.at_least(v, 0.90))
    v = talk and talk["false_per_hour"]
    row("false commands per hour of ordinary speech (#6)", v, f"{v:.1f}/h" if v is not None else None, "≤ 0.1/h",
        bl.at_most(v, GOALS["false_per_hour"]))
    v = narr and narr["with_guard_per_hour"]
    row("self-triggers per hour of the pack's narration, echo guard on (#6)", v, f"{v:.1f}/h" if v is not None else None,
        "0/h", None if v is None else v == 0)
    v = synth and synth["latency_median"]
    row("latency, word end → command event, median (#6)", v, bl.ms(v), "≤ 300 ms", bl.at_most(v, GOALS["latency_median"]))
    v = synth and synth["latency_p95"]
    row("latency, 95th percentile (#6)", v, bl.ms(v), "≤ 500 ms", bl.at_most(v, GOALS["latency_p95"]))
    row("real-time factor on one core, CPU time / audio time (#6)", c["rtf_cpu"], f"{c['rtf_cpu']:.3f}", "≤ 0.05",
        bl.at_most(c["rtf_cpu"], GOALS["rtf"]))
    goal = _rss_goal(r["engine"])
    row("RSS after loading the recognizer (this process; whole run: footprint section) (#6)", c["rss_after_load_mb"],
        f"{c['rss_after_load_mb']:.0f} MB", f"≤ {goal:.0f} MB", bl.at_most(c["rss_after_load_mb"], goal))
    return rows


def markdown(r: dict) -> str:
    """This run's section of BENCHMARKS.md (without its markers)."""
    path = Path(r["model"]) if r.get("model") else None
    model = "" if path is None else f", {path.parent.name}/{path.name}" if path.name == "model" else f", {path.name}"
    lines = [f"## Recognition: {r['engine']} ({r['language']}{model})", ""]
    lines += bl.run_header(r["command"], r["date"], r["machine"])
    lines += bl.table(["what (issue)", "figure", "goal", "met?"], goal_rows(r)) + [""]
    sets = r["sets"]
    sc = {k: v for k, v in sets.items() if k.startswith("speech-commands/")}
    if sc:
        first = next(iter(sc.values()))
        lines += [f"Human clips of the held-out speakers (`../shared/corpus/speech-commands`, {first['commands']} command "
                  f"clips: stop/go/yes/no; {first['non_commands']} others: other words), clean and mixed with each noise. "
                  "The other half of the speakers (and every silence clip) tuned the English fallback: its MLLR transform "
                  "and its verifier, which also learned from kitchen and pink noise, never from the running tap.", ""]
        rows = []
        for k, v in sc.items():
            name = k.removeprefix("speech-commands/")
            goal = {"running_tap/10dB": GOALS["acc10"], "running_tap/5dB": GOALS["acc5"]}.get(name)
            rows.append([name, bl.pct(v["command_accuracy"]), bl.pct(v["wrong_command"]), bl.pct(v["rejection"]),
                         f"accuracy ≥ {goal:.0%}" if goal else ("rejection ≥ 95%" if name == "clean" else None),
                         bl.met(bl.at_least(v["command_accuracy"], goal)) if goal else
                         (bl.met(bl.at_least(v["rejection"], GOALS["rejection"])) if name == "clean" else None)])
        lines += bl.table(["set", "command accuracy", "wrong command", "rejection of non-commands", "goal", "met?"], rows)
        lines += [""]
    st = {k: v for k, v in sets.items() if k.startswith("stream/")}
    if st:
        lines += ["The same command clips one every 4 s over a continuous running tap (the tap never stops, as at a sink):", ""]
        lines += bl.table(["noise", "command accuracy", "events", "events away from any command"],
                          [[k.removeprefix("stream/"), bl.pct(v["command_accuracy"]), v["events"], v["stray_events"]]
                           for k, v in st.items()]) + [""]
    if "synth" in sets:
        s = sets["synth"]
        lines += [f"Synthesized commands (espeak-ng, {s['utterances']} utterances: voices × rates × pitches × every phrase): "
                  f"accuracy {bl.pct(s['command_accuracy'])}, wrong command {bl.pct(s['wrong_command'])}; by voice: "
                  + ", ".join(f"{v} {bl.pct(a)}" for v, a in s["accuracy_per_voice"].items()) + ".", ""]
        lines += bl.table(["latency (word end → event, 20 ms chunks)", "median", "95th pct", "goal", "met?"], [
            ["total", bl.ms(s["latency_median"]), bl.ms(s["latency_p95"]), "≤ 300 ms / ≤ 500 ms",
             bl.met(None if s["latency_median"] is None else
                    s["latency_median"] <= GOALS["latency_median"] and s["latency_p95"] <= GOALS["latency_p95"])],
            ["audio position (waiting for the endpoint)", bl.ms(s["latency_audio_median"]), bl.ms(s["latency_audio_p95"]), None, None],
            ["compute (the feed call that emitted it)", bl.ms(s["latency_compute_median"]), bl.ms(s["latency_compute_p95"]), None, None],
        ]) + [""]
    if "talk" in sets:
        t = sets["talk"]
        lines += [f"Ordinary speech: {t['seconds'] / 60:.1f} min read by espeak-ng, {t['false_commands']} false commands"
                  + (f" (heard: {', '.join(repr(h) for h in t['heard'])})" if t["heard"] else "") + ".", ""]
    if "narration" in sets:
        n = sets["narration"]
        lines += [f"Self-trigger: the built-in pack's narration, {n['seconds'] / 60:.1f} min, {n['without_guard']} commands "
                  f"without the echo guard ({n['without_guard_per_hour']:.1f}/h), {n['with_guard']} with it.", ""]
    c = r["cost"]
    lines += [f"Cost: real-time factor {c['rtf_cpu']:.3f} CPU / {c['rtf_wall']:.3f} wall over {c['audio_seconds'] / 60:.0f} min "
              f"of audio; model load {c['model_load_seconds']:.2f} s; RSS {c['rss_before_model_mb']:.0f} MB before the "
              f"recognizer, {c['rss_after_load_mb']:.0f} MB after loading it, {c['peak_rss_mb']:.0f} MB at the end (the "
              "bench's own test audio included).", ""]
    note = NOTES.get(r["engine"])
    if note:
        lines += [note, ""]
    return "\n".join(lines)


def update_markdown(path: Path, r: dict) -> None:
    """Replace this engine's section of `path` (or add it), keeping the rest of the file."""
    bl.replace_section(path, f"recognition:{r['engine']}-{r['language']}", markdown(r))


if __name__ == "__main__":
    sys.exit(main())
