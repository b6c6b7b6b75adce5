#!/usr/bin/env python3
"""Audio latency figures on real PortAudio streams (the virtual devices of scripts/virtual-audio-up.sh by default).

Measures, over N trials each:
  A. Player.stop() → silence at the speaker (capture of vspeaker_mon);
  B. a command event → the first sample of its (cached) narration at the speaker;
  C. the end of a spoken "pause" fed into the virtual microphone → silence at the speaker, through
     MicSource (soxr) → a recognizer → Player.stop(). The recognizer is named in the output.

Times at the speaker come from a capture of its monitor: a captured sample is time-stamped when the
capture callback receives it, so every figure includes the capture path's own latency (an upper bound).

usage: .venv/bin/python scripts/bench_audio.py [--trials 20] [--json] [--devices existing] [--markdown BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _benchlib as bl  # noqa: E402

AUDIO_SCRIPTS = Path(__file__).resolve().parent  # virtual-audio-up.sh / -down.sh
SAMPLE_RATE = 16000
THRESHOLD = 0.01


def start_virtual_audio() -> Path:
    """A private PulseAudio; sets PULSE_SERVER and ALSA_CONFIG_PATH before sounddevice is imported."""
    va_dir = Path(tempfile.mkdtemp(prefix="vg-bench-", dir="/tmp"))
    proc = subprocess.run(["bash", str(AUDIO_SCRIPTS / "virtual-audio-up.sh")], env={**os.environ, "VA_DIR": str(va_dir)},
                          capture_output=True, text=True, timeout=60, check=False)
    if proc.returncode != 0:
        sys.exit(f"bench_audio: virtual audio did not start: {proc.stderr.strip()}")
    for line in proc.stdout.splitlines():
        key, value = line.removeprefix("export ").split("=", 1)
        os.environ[key] = value
    return va_dir


def stop_virtual_audio(va_dir: Path) -> None:
    subprocess.run(["bash", str(AUDIO_SCRIPTS / "virtual-audio-down.sh")], env={**os.environ, "VA_DIR": str(va_dir)},
                   capture_output=True, timeout=30, check=False)
    shutil.rmtree(va_dir, ignore_errors=True)


class Monitor:
    """Records the speaker's monitor; answers "when was it last / first loud"."""

    def __init__(self, device: str) -> None:
        import sounddevice as sd

        self.blocks: list[tuple[float, np.ndarray]] = []
        self.lock = threading.Lock()
        self.stream = sd.InputStream(device=device, samplerate=SAMPLE_RATE, channels=1, dtype="float32",
                                     callback=self._callback, latency="low")
        self.stream.start()

    def _callback(self, indata: np.ndarray, frames: int, time_info: object, status: object) -> None:
        with self.lock:
            self.blocks.append((time.monotonic(), indata[:, 0].copy()))

    def _frames(self, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
        with self.lock:
            blocks = [(t, b) for t, b in self.blocks if t0 - 0.5 <= t <= t1 + 0.5]
        if not blocks:
            return np.zeros(0), np.zeros(0)
        x = np.concatenate([b for _, b in blocks])
        t = np.concatenate([tcb - (len(b) - np.arange(len(b))) / SAMPLE_RATE for tcb, b in blocks])
        n = 80  # 5 ms frames
        m = len(x) // n
        rms = np.sqrt(np.mean(x[: m * n].reshape(m, n) ** 2, axis=1))
        return rms, t[: m * n : n] + (n - 1) / SAMPLE_RATE

    def last_loud(self, t0: float, t1: float) -> float | None:
        rms, t = self._frames(t0, t1)
        sel = np.nonzero((rms > THRESHOLD) & (t >= t0) & (t <= t1))[0]
        return float(t[sel[-1]]) if sel.size else None

    def first_loud(self, t0: float, t1: float) -> float | None:
        rms, t = self._frames(t0, t1)
        sel = np.nonzero((rms > THRESHOLD) & (t >= t0) & (t <= t1))[0]
        return float(t[sel[0]] - 0.005) if sel.size else None

    def close(self) -> None:
        self.stream.stop()
        self.stream.close()


def summary(values: list[float]) -> dict[str, float]:
    ms = sorted(v * 1000 for v in values)
    if not ms:
        return {"n": 0}
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return {"n": len(ms), "median_ms": round(statistics.median(ms), 1), "p95_ms": round(p95, 1),
            "min_ms": round(ms[0], 1), "max_ms": round(ms[-1], 1)}


class StablePartial:
    """pocketsphinx with a JSGF grammar of the command words; acts when a partial result holds for `hold_s`."""

    name = "pocketsphinx {version}, JSGF grammar of 8 command words, stable partial for {hold:.0f} ms"

    def __init__(self, hold_s: float = 0.1) -> None:
        from importlib.metadata import version

        from pocketsphinx import Decoder

        self.decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")
        words = "pause | next | resume | stop | back | repeat | slower | faster"
        self.decoder.add_jsgf_string("commands", f"#JSGF V1.0;\ngrammar c;\npublic <c> = {words};\n")
        self.decoder.activate_search("commands")
        self.hold_s = hold_s
        self.name = self.name.format(version=version("pocketsphinx"), hold=hold_s * 1000)
        self.reset()

    def reset(self) -> None:
        try:
            self.decoder.end_utt()
        except RuntimeError:
            pass
        self.decoder.start_utt()
        self.current: str | None = None
        self.since = 0.0

    def feed(self, samples: np.ndarray, t_audio: float) -> str | None:
        self.decoder.process_raw(samples.tobytes(), False, False)
        hyp = self.decoder.hyp()
        word = hyp.hypstr.split()[-1] if hyp is not None and hyp.hypstr else None
        if word != self.current:
            self.current, self.since = word, t_audio
            return None
        if word is not None and t_audio - self.since >= self.hold_s:
            return word
        return None


class ProjectRecognizer:
    """voiceguide's own recognizer (issue 4) through its public factory, acting on Heard.command."""

    def __init__(self, engine: str) -> None:
        from voiceguide.core.commands import builtin_vocabulary
        from voiceguide.speech.base import RecognitionSettings
        from voiceguide.speech.factory import create_recognizer

        settings = RecognitionSettings(engine=engine, language="en", env=dict(os.environ))
        self.recognizer, _ = create_recognizer(settings, builtin_vocabulary("en"))
        self.name = f"voiceguide recognizer: {type(self.recognizer).__name__} ({engine}, default settings)"

    def reset(self) -> None:
        self.recognizer.reset()

    def feed(self, samples: np.ndarray, t_audio: float) -> str | None:
        start = t_audio - len(samples) / SAMPLE_RATE
        for heard in self.recognizer.feed(samples, start):
            if heard.command is not None:
                return str(heard.command.value)
        return None


def make_recognizer(kind: str) -> StablePartial | ProjectRecognizer:
    """The project's recognizer when asked for (or when it exists, for 'auto'), else the bench's stand-in."""
    if kind in ("auto", "project"):
        try:
            return ProjectRecognizer("pocketsphinx")
        except ImportError:
            if kind == "project":
                raise
    return StablePartial()


def audible_end(clip_samples: np.ndarray, rate: int) -> float:
    """Where the word really ends in its clip (espeak adds ~0.4 s of silence after it)."""
    loud = np.nonzero(np.abs(clip_samples) > 0.05 * np.abs(clip_samples).max())[0]
    return float(loud[-1] + 1) / rate if loud.size else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--devices", choices=["virtual", "existing"], default="virtual",
                        help="start the private virtual devices (default) or use what exists")
    parser.add_argument("--speaker", default="vspeaker")
    parser.add_argument("--monitor", default="vspeaker_mon")
    parser.add_argument("--mic", default="vmic")
    parser.add_argument("--mic-feed", default="vmic_feed")
    parser.add_argument("--recognizer", choices=["auto", "project", "standin"], default="auto",
                        help="voiceguide's recognizer (project), the bench's pocketsphinx stand-in, or the first that exists")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--markdown", type=Path, default=None, help="replace the audio section of this file")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    random.seed(args.seed)
    args.started = {"machine": bl.machine(), "date": bl.now_utc(), "command": bl.command_line("bench_audio.py", argv)}
    va_dir = start_virtual_audio() if args.devices == "virtual" else None
    try:
        return run(args)
    finally:
        if va_dir is not None:
            stop_virtual_audio(va_dir)


def run(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(ROOT))
    from voiceguide.audio.player import Player, PlayerSettings
    from voiceguide.audio.source import MicSettings, MicSource
    from voiceguide.core.events import Say
    from voiceguide.voice.narrator import Narrator, NarratorSettings
    from voiceguide.voice.speaker import Speaker

    cache = Path(tempfile.mkdtemp(prefix="vg-bench-cache-"))
    narrator = Narrator(NarratorSettings(cache_dir=cache, language="en-US"))
    long_text = ("Place your fingertips between your brows and glide upward and outward to your hairline, "
                 "slowly and gently, eight times.")
    answers = [f"Step {i}. Glide along the jaw." for i in range(1, args.trials + 1)]
    narrator.prefetch([long_text, *answers, "Pause"])
    narrator.wait_prefetched(120)
    long_clip = narrator.clip(long_text)
    results: dict[str, object] = {"devices": {"speaker": args.speaker, "mic": args.mic}}

    player = Player(PlayerSettings(device=args.speaker))
    monitor = Monitor(args.monitor)
    results["player"] = {"rate": player.sample_rate, "block_ms": player.settings.block_seconds * 1000,
                         "portaudio_output_latency_ms": round(player.latency * 1000, 1)}
    time.sleep(0.5)
    try:
        # A. stop() → silence
        stop_lat: list[float] = []
        skipped = 0
        while len(stop_lat) < args.trials and skipped < args.trials:
            item = player.play(long_clip)
            time.sleep(random.uniform(0.8, 1.6))
            t_stop = time.monotonic()
            player.stop()
            item.done.wait(2)
            time.sleep(0.4)
            last = monitor.last_loud(t_stop - 0.3, t_stop + 0.4)
            if last is None or last < t_stop:  # stopped in a gap between words: nothing to measure
                skipped += 1
                continue
            stop_lat.append(last - t_stop)
        results["stop_to_silence"] = summary(stop_lat)

        # B. command event → first sample of its narration (from cache)
        speaker = Speaker(narrator, player)
        first_lat = []
        for text in answers:
            time.sleep(random.uniform(0.3, 0.6))
            t_cmd = time.monotonic()
            speaker.handle(Say(text, 0.0))
            time.sleep(0.5)
            first = monitor.first_loud(t_cmd, t_cmd + 0.5)
            if first is not None:
                first_lat.append(max(0.0, first - t_cmd))
            player.stop()
            time.sleep(0.1)
        results["command_to_first_sample"] = summary(first_lat)
        results["command_to_first_sample"]["from_cache"] = narrator.renders == len(answers) + 2  # type: ignore[index]

        # C. end of a spoken "pause" → silence at the speaker, through the microphone and a recognizer
        recognizer = make_recognizer(args.recognizer)
        feed = Player(PlayerSettings(device=args.mic_feed, volume=1.0))
        pause_clip = narrator.clip("Pause")
        word_end = audible_end(pause_clip.samples, pause_clip.sample_rate)
        detected = threading.Event()
        t_detect: list[float] = []
        mic = MicSource(MicSettings(device=args.mic))
        armed = threading.Event()  # set by the trial loop; the listener resets the decoder on its own thread

        def listen() -> None:
            active = False
            while not mic.ended:
                chunk = mic.read(0.2)
                if chunk is None:
                    continue
                if armed.is_set() and not active:
                    recognizer.reset()
                    active = True
                if not active:
                    continue
                word = recognizer.feed(chunk.samples, chunk.end)
                if word == "pause":
                    player.stop()
                    t_detect.append(time.monotonic())
                    armed.clear()
                    active = False
                    detected.set()
                elif not armed.is_set():
                    active = False

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        pause_lat: list[float] = []
        recog_lat: list[float] = []
        quiet_lat: list[float] = []
        misses = 0
        feed_started: list[float] = []
        feed.subscribe(lambda n: feed_started.append(n.start) if n.state == "started" else None)
        for _ in range(args.trials):
            detected.clear()
            t_detect.clear()
            feed_started.clear()
            player.play(long_clip)
            time.sleep(random.uniform(0.8, 1.5))
            armed.set()
            feed.play(pause_clip).done.wait(5)
            if not detected.wait(2.0):
                misses += 1
                armed.clear()
                player.stop()
                time.sleep(0.3)
                continue
            time.sleep(0.5)
            t_end = feed_started[0] + word_end  # when the word's last audible sample entered the mic
            last = monitor.last_loud(t_end - 0.5, t_end + 1.5)
            if last is not None:
                pause_lat.append(last - t_end)
                recog_lat.append(t_detect[0] - t_end)
                quiet_lat.append(last - t_detect[0])
        mic.close()
        feed.close()
        results["pause_to_silence"] = {**summary(pause_lat), "misses": misses, "recognizer": recognizer.name,
                                       "recognized_after_word_end": summary(recog_lat),
                                       "silence_after_recognition": summary(quiet_lat)}
        results["tts"] = f"pyttsx3 (espeak-ng), voice {narrator.voice_id}, {narrator.settings.rate} wpm"
    finally:
        monitor.close()
        player.close()
        narrator.close()
        shutil.rmtree(cache, ignore_errors=True)
    results.update(args.started, trials=args.trials)
    if args.markdown:
        bl.replace_section(args.markdown, KEY, markdown(results))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(markdown(results))
    return 0


KEY = "audio"


def _row(what: str, s: dict, goal: str | None, ok: bool | None) -> list[object]:
    if not s.get("n"):
        return [what, "none measured", None, None, goal, bl.met(False if goal else None)]
    return [what, f"{s['median_ms']:.1f} ms", f"{s['p95_ms']:.1f} ms", f"{s['max_ms']:.1f} ms", goal, bl.met(ok)]


def markdown(r: dict) -> str:
    """The audio section of BENCHMARKS.md: the three latencies beside issue #5's targets (and #6's)."""
    stop, first, pause = r["stop_to_silence"], r["command_to_first_sample"], r["pause_to_silence"]
    lines = ["## Audio: stop, narration and \"pause\" latencies on real PortAudio streams", ""]
    lines += bl.run_header(r["command"], r["date"], r["machine"])
    lines += [f"Devices: `{r['devices']['speaker']}` (speaker, captured through its monitor) and `{r['devices']['mic']}` "
              f"(microphone, fed through its `_feed` sink) of a private virtual PulseAudio (`scripts/virtual-audio-up.sh`). Player: "
              f"one `OutputStream` at {r['player']['rate']} Hz, {r['player']['block_ms']:.0f} ms blocks (PortAudio reports "
              f"{r['player']['portaudio_output_latency_ms']:.0f} ms output latency). Narration: {r['tts']}, from its render "
              "cache. Times at the speaker come from a capture of its monitor, stamped when the capture callback gets "
              "the samples, so every figure includes the capture path's own latency (upper bounds).", ""]
    rows = [
        _row("`Player.stop()` → last audible sample at the speaker", stop, "≤ 50 ms (#5)",
             stop.get("n") and stop["median_ms"] <= 50 and stop["max_ms"] <= 50),
        _row("command event (`Speaker.handle(Say)`, cached) → first sample of its narration at the speaker", first,
             "≤ 150 ms (#5)", first.get("n") and first["p95_ms"] <= 150),
        _row(f"end of a spoken \"pause\" fed into the microphone → last audible sample at the speaker "
             f"({pause['n'] if pause.get('n') else 0} heard, {pause['misses']} missed)", pause,
             "≤ 250 ms median, ≤ 400 ms p95 (#5)",
             pause.get("n") and pause["median_ms"] <= 250 and pause["p95_ms"] <= 400 and not pause["misses"]),
        _row("… of which: end of the word → recognized", pause["recognized_after_word_end"],
             "≤ 300 ms median, ≤ 500 ms p95 (#6)", pause["recognized_after_word_end"].get("n")
             and pause["recognized_after_word_end"]["median_ms"] <= 300 and pause["recognized_after_word_end"]["p95_ms"] <= 500),
        _row("… of which: recognized → silence at the speaker", pause["silence_after_recognition"], None, None),
    ]
    lines += bl.table([f"what ({r['trials']} trials)", "median", "95th pct", "max", "goal", "met?"], rows)
    lines += ["", f"Recognizer: {pause['recognizer']}. The \"pause\" chain is microphone `InputStream` → `MicSource` "
              "(soxr) → 16 kHz chunks → recognizer → `Player.stop()`; \"pause\" is espeak-ng's voice played into the "
              "microphone's feed, its end taken as the last sample above 5 % of its peak. A miss counts against the "
              "goal: a command not heard is not fast.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
