#!/usr/bin/env python3
"""The live path as a person meets it: `voiceguide run` on the virtual sound devices, the mic hearing the speaker
6 dB down (echo cancellation on), counting strokes aloud, while voices held out of the keyword model's training
say each command once at a random moment; was it heard the first time (within 2 s of the word's end)?

    .venv/bin/python scripts/bench_live.py --out /tmp/voiceguide-bench/live.json --markdown BENCHMARKS.md
    .venv/bin/python scripts/bench_live.py --mic-deaf-to-speaker --markdown BENCHMARKS.md   # comparison: no echo at all

What it does, deterministically from --seed (the moments, the voices, the human clips; not the machine's load):
  1. starts a private PulseAudio (scripts/virtual-audio-up.sh), routes the speaker into the mic at -6 dB;
  2. writes a bench pack (three steps of 60 strokes of 2 s, each counted aloud with a cue: the speaker talks
     about 1.3 s of every 2 s), renders its narration ahead (`pack render`, as an install does) and runs
     `voiceguide -vv run PACK --input-device vmic --output-device vspeaker
     --tts pyttsx3 --json` on it (again, with a fresh data dir, whenever a session ends);
  3. after a quiet lead-in (nobody speaks), plays each trial's phrase ONCE into `vmic_feed` at a random
     moment of the counting, and reads the transcript: a `command` event of that command arriving within
     --window seconds of the word's end is "heard first try"; later, another command, an `echo` drop or nothing
     is a miss, and the run's `-vv` log lines of that moment are kept in the JSON to tell why;
  4. "pause" is followed by "resume" (or a person's "go"), "stop" by "no" to the "say yes to end" question
     (the last one by "yes"), both measured too; "help" is sometimes answered during the help list with
     "stop" or "repeat", as a person who just asked does;
  5. a `command` event while nobody spoke is a false command (per hour of that quiet counting), another command
     than the one being said a mishearing; every `echo` entry (the guard dropping what it took for the speaker's
     own words) is counted.

Voices: `scripts/kwsdata.py`'s HELDOUT_VOICES (flite slt, festival kdl, espeak en-us+f5, en-gb-x-gbclan+m6,
MBROLA us3), never in the keyword model's training, and the held-out human speakers' stop/go/yes/no clips of the
workspace corpus (`scripts/corpus.py`; skipped where the corpus is absent). Phrases are played at --level-db
(active-speech RMS, dBFS) into the mic; the section states how loud the narration reached the mic.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _benchlib as bl  # noqa: E402

RATE = 16000
WINDOW = 2.0
"""Seconds after the word's end within which the command must be in the transcript to count as first try."""
LATE = 3.5
"""Seconds after the word's end still watched, to tell 'heard late' from 'not heard'."""

BENCH_PACK = """\
# The live bench's pack (scripts/bench_live.py): counting aloud most of the time, as the strokes of a massage.
[pack]
id = "bench-live"
title = "Live bench: counting aloud"
language = "en-US"
version = "1.0.0"

[voice]
rate = 150
{steps}"""
BENCH_STEP = """
[[steps]]
id = "{id}"
title = "{title}"
area = "{id}"
technique = "glide"
say = "{say}"

[[steps.strokes]]
count = {count}
seconds = 2.0
cue = "{cue}"
count_aloud = true
"""
STEPS = (
    ("cheeks", "Cheeks", "Glide your fingertips along your cheekbones, out towards your ears.", "and glide to the ears"),
    ("forehead", "Forehead", "Smooth your forehead from the centre out to your temples.", "and smooth it outwards"),
    ("jaw", "Jawline", "Sweep along your jawline from the chin up to the ears.", "and sweep along the jaw"),
)

PHRASES = {
    "repeat": "repeat", "help": "help", "where": "where am I", "slower": "slower", "faster": "faster",
    "louder": "louder", "quieter": "quieter", "pause": "pause", "resume": "resume", "stop": "stop", "no": "no",
    "yes": "yes", "next": "next", "back": "back",
}
HUMAN_WORDS = {"stop": "stop", "resume": "go", "no": "no", "yes": "yes"}
"""Command → the corpus word a held-out person says for it."""


def write_pack(folder: Path, count: int = 60) -> Path:
    """The bench pack (three steps of `count` strokes of 2 s, counted aloud with a cue) in `folder`; its folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pack.toml").write_text(BENCH_PACK.format(steps="".join(
        BENCH_STEP.format(id=i, title=t, say=s, cue=c, count=count) for i, t, s, c in STEPS)))
    return folder


# ------------------------------------------------------------------------------------------- virtual devices
@contextlib.contextmanager
def virtual_devices(mic_hears_speaker_db: float | None = -6.0) -> Iterator[dict[str, str]]:
    """A private PulseAudio (as tests/conftest.py's `virtual_audio`) with the speaker looped into the mic
    `mic_hears_speaker_db` down and ~30 ms late (its `mic_hears_speaker`; None: not at all); yields the environment
    to run in."""
    if shutil.which("pulseaudio") is None or shutil.which("pactl") is None:
        raise SystemExit("bench_live: needs pulseaudio and pulseaudio-utils (virtual sound devices)")
    va_dir = Path(tempfile.mkdtemp(prefix="vg-bench-live-va-", dir="/tmp"))
    script_env = {**os.environ, "VA_DIR": str(va_dir)}
    try:
        up = subprocess.run(["bash", str(ROOT / "scripts" / "virtual-audio-up.sh")], env=script_env,
                            capture_output=True, text=True, timeout=60, check=False)
        if up.returncode != 0:
            raise SystemExit(f"bench_live: virtual audio did not start: {up.stderr.strip()}")
        env = {}
        for line in up.stdout.splitlines():
            if line.startswith("export ") and "=" in line:
                key, value = line[len("export "):].split("=", 1)
                env[key] = value
        full = {**os.environ, **env}

        def pactl(*args: str) -> str:
            return subprocess.run(["pactl", *args], env=full, capture_output=True, text=True, check=True,
                                  timeout=30).stdout.strip()

        if mic_hears_speaker_db is None:
            yield env
            return
        module = pactl("load-module", "module-loopback", "source=speaker.monitor", "sink=vmic_sink",
                       "latency_msec=30", "source_dont_move=true", "sink_dont_move=true")
        for line in pactl("list", "short", "sink-inputs").splitlines():
            cols = line.split("\t")
            if len(cols) > 2 and cols[2] == module:
                pactl("set-sink-input-volume", cols[0], f"{mic_hears_speaker_db:+.0f}dB")
        time.sleep(0.5)
        yield env
    finally:
        subprocess.run(["bash", str(ROOT / "scripts" / "virtual-audio-down.sh")], env=script_env, check=False,
                       timeout=30, capture_output=True)
        shutil.rmtree(va_dir, ignore_errors=True)


class Feeder:
    """One playback stream into the virtual mic, open all along (a stream opened per word loses its start):
    silence, and a phrase when asked; `say` returns when the phrase has been played out."""

    def __init__(self, device: str = "vmic_feed") -> None:
        import sounddevice as sd

        self._lock = threading.Lock()
        self._clip: np.ndarray | None = None
        self._pos = 0
        self._started = 0.0
        self._done = threading.Event()
        self._stream = sd.OutputStream(device=device, samplerate=RATE, channels=1, dtype="float32",
                                       callback=self._callback, latency="high", blocksize=800)
        self._stream.start()
        self.latency = float(self._stream.latency)

    def _callback(self, out: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        out.fill(0.0)
        with self._lock:
            if self._clip is None:
                return
            if self._pos == 0:
                self._started = time.monotonic()
            n = min(frames, len(self._clip) - self._pos)
            out[:n, 0] = self._clip[self._pos:self._pos + n]
            self._pos += n
            if self._pos >= len(self._clip):
                self._clip = None
                self._done.set()

    def say(self, clip: np.ndarray) -> tuple[float, float]:
        """Play `clip` (float32, 16 kHz); (start, end) of it as heard by the mic, monotonic seconds."""
        with self._lock:
            self._done.clear()
            self._clip, self._pos = clip.astype(np.float32), 0
        if not self._done.wait(len(clip) / RATE + 5.0):
            raise RuntimeError("the virtual mic's playback stream stalled")
        end = time.monotonic() + self.latency
        return self._started + self.latency, end

    def close(self) -> None:
        self._stream.stop()
        self._stream.close()


def mic_level(seconds: float) -> float:
    """Active-speech RMS (dBFS) of what the virtual mic hears now, over `seconds` (the narration's level there)."""
    import sounddevice as sd

    rec = sd.rec(int(seconds * RATE), samplerate=RATE, channels=1, dtype="float32", device="vmic", blocking=True)
    return active_db(rec[:, 0])


def active_db(x: np.ndarray) -> float:
    """RMS of the louder half of the 10 ms frames above the silence floor, in dBFS (speech level, pauses not counted)."""
    frames = x[: len(x) // 160 * 160].astype(np.float64).reshape(-1, 160)
    energy = (frames**2).mean(axis=1)
    energy = energy[energy > 1e-7]
    if not len(energy):
        return -120.0
    loud = energy[energy >= np.percentile(energy, 50)]
    return float(10 * np.log10(loud.mean()))


# ---------------------------------------------------------------------------------------------- the voices
def _flite_direct(text: str, name: str) -> np.ndarray:
    """flite without kwsdata (whose version probe fails where `flite --version` exits 1): int16 at 16 kHz."""
    from voiceguide.audio.clip import resample

    with tempfile.TemporaryDirectory(prefix="bench-live-flite-") as tmp:
        out = Path(tmp) / "out.wav"
        subprocess.run(["flite", "-voice", name, "-t", text, "-o", str(out)], check=True, capture_output=True, timeout=60)
        with wave.open(str(out)) as w:
            rate = w.getframerate()
            audio = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768
    return (np.clip(resample(audio, rate, RATE), -1, 1) * 32767).astype(np.int16)


def synth_voices() -> tuple[list[str], Callable[[str, str], np.ndarray], list[str]]:
    """(held-out synthetic voices usable here, a function (text, voice) → int16, the voices left out and why)."""
    try:
        import kwsdata
    except ImportError:  # kwsdata not there yet: the test voice of the brief
        return ["espeak:en-us+f3"], lambda text, v: _espeak(text, v.split(":", 1)[1]), ["kwsdata.py missing"]
    voices, missing = [], []
    for v in kwsdata.HELDOUT_VOICES:
        if kwsdata.available(v):
            voices.append(v)
        elif v.startswith("flite:") and shutil.which("flite"):
            try:
                _flite_direct("yes", v.split(":", 1)[1])
                voices.append(v)
            except (OSError, subprocess.SubprocessError):
                missing.append(v)
        else:
            missing.append(v)

    def say(text: str, voice: str) -> np.ndarray:
        if voice.startswith("flite:") and not kwsdata.available(voice):
            return _flite_direct(text, voice.split(":", 1)[1])
        return kwsdata.synthesize(text, voice)

    return voices, say, missing


def _espeak(text: str, voice: str) -> np.ndarray:
    from corpus import espeak

    return espeak(text, voice)


def human_clips() -> dict[str, list[Any]]:
    """Held-out speakers' clips by corpus word (stop/go/yes/no); empty where the corpus is absent."""
    from corpus import corpus_available, held_out_clips

    if not corpus_available():
        return {}
    out: dict[str, list[Any]] = {}
    for clip in held_out_clips():
        if clip.word in HUMAN_WORDS.values():
            out.setdefault(clip.word, []).append(clip)
    for clips in out.values():
        clips.sort(key=lambda c: str(c.path))
    return out


def trim(x: np.ndarray, margin: float = 0.05) -> np.ndarray:
    """The speech of a clip: from the first to the last 10 ms frame within 30 dB of the loudest, plus a margin."""
    frames = x[: len(x) // 160 * 160].astype(np.float64).reshape(-1, 160)
    energy = (frames**2).mean(axis=1)
    if not len(energy) or energy.max() <= 0:
        return x
    loud = np.nonzero(energy >= energy.max() * 1e-3)[0]
    m = int(margin * RATE)
    return x[max(0, loud[0] * 160 - m): min(len(x), (loud[-1] + 1) * 160 + m)]


def prepared(x: np.ndarray, level_db: float) -> np.ndarray:
    """An int16 utterance as float32 at `level_db` active RMS, with 0.1 s of quiet before and 0.15 s after."""
    y = trim(x.astype(np.float32) / 32768.0)
    y = y * 10 ** ((level_db - active_db(y)) / 20)
    peak = float(np.abs(y).max()) or 1.0
    if peak > 0.99:
        y *= 0.99 / peak
    return np.concatenate([np.zeros(int(0.1 * RATE), np.float32), y, np.zeros(int(0.15 * RATE), np.float32)])


@dataclass
class Utterance:
    """What one trial says: a command, its phrase, the voice, and the audio."""

    command: str
    phrase: str
    voice: str
    audio: np.ndarray = field(repr=False)

    def label(self) -> str:
        return f"{self.phrase!r} ({self.voice})"


class Voices:
    """Every utterance the bench plays, made once: synthetic voices round robin, human clips drawn by the seed."""

    def __init__(self, level_db: float, rng: random.Random, use_human: bool = True) -> None:
        self.level_db = level_db
        self.synth, self._say, self.missing = synth_voices()
        self.human = human_clips() if use_human else {}
        self._rng = rng
        self._turn: dict[str, int] = {}
        self._cache: dict[tuple[str, str], np.ndarray] = {}

    def synthetic(self, command: str) -> Utterance:
        """The command's phrase in the next held-out synthetic voice (each command walks through the voices)."""
        i = self._turn.get(command)
        if i is None:  # each command starts at a seeded voice, then walks through them all
            i = self._rng.randrange(len(self.synth))
        self._turn[command] = i + 1
        voice = self.synth[i % len(self.synth)]
        phrase = PHRASES[command]
        key = (phrase, voice)
        if key not in self._cache:
            self._cache[key] = prepared(self._say(phrase, voice), self.level_db)
        return Utterance(command, phrase, voice, self._cache[key])

    def person(self, command: str) -> Utterance | None:
        """A held-out speaker's clip of the command's corpus word (none without the corpus)."""
        word = HUMAN_WORDS.get(command)
        clips = self.human.get(word or "", [])
        if not clips:
            return None
        from corpus import read16

        clip = clips.pop(self._rng.randrange(len(clips)))
        return Utterance(command, word or command, f"person {clip.speaker[:8]}", prepared(read16(clip.path), self.level_db))

    def any(self, command: str, human_share: float) -> Utterance:
        """A person when the corpus has the word and the seed says so, else a synthetic voice."""
        if command in HUMAN_WORDS and self._rng.random() < human_share:
            u = self.person(command)
            if u is not None:
                return u
        return self.synthetic(command)


# ------------------------------------------------------------------------------------------ the running guide
class Guide:
    """`voiceguide -vv run` on the bench pack, its JSON transcript read as it comes (each event stamped with the
    monotonic time it arrived), its `-vv` log in a file."""

    def __init__(self, env: dict[str, str], pack: Path, work: Path, engine: str, extra: list[str]) -> None:
        self.env, self.pack, self.work, self.engine, self.extra = env, pack, work, engine, extra
        self.events: list[tuple[float, dict[str, Any]]] = []
        self.cond = threading.Condition()
        self.log = work / "run.log"
        self.proc: subprocess.Popen[str] | None = None
        self.starts = 0
        self.command_line = ""

    def render(self) -> None:
        """Render the pack's narration into the cache first, as an install does (`pack render`), so the session does
        not synthesize 200 sentences while the bench speaks to it."""
        subprocess.run([sys.executable, "-m", "voiceguide", "pack", "render", str(self.pack), "--tts", "pyttsx3",
                        "--cache-dir", str(self.work / "cache")], cwd=ROOT, env={**os.environ, **self.env},
                       capture_output=True, timeout=600, check=True)

    def start(self) -> None:
        """A new session (a fresh data dir: no offer to resume); waits until it listens and counts."""
        self.stop()
        self.starts += 1
        data = self.work / f"data-{self.starts}"
        args = ["-vv", "run", str(self.pack), "--input-device", "vmic", "--output-device", "vspeaker", "--tts", "pyttsx3",
                "--engine", self.engine, "--json", "--data-dir", str(data), "--cache-dir", str(self.work / "cache"),
                *self.extra]
        self.command_line = "voiceguide " + " ".join(args)
        with open(self.log, "a") as log:
            log.write(f"==== session {self.starts}: {self.command_line}\n")
        self._logf = open(self.log, "a")  # noqa: SIM115 - kept open for the process's life
        self.proc = subprocess.Popen([sys.executable, "-m", "voiceguide", *args], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=self._logf, text=True, cwd=ROOT,
                                     env={**os.environ, **self.env})
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()
        since = len(self.events)
        if self.wait(lambda e: e["type"] == "listening", 90, since) is None:
            raise RuntimeError(f"voiceguide run did not start listening; see {self.log}")
        if self.wait(is_count, 60, since) is None:
            raise RuntimeError(f"voiceguide run did not start counting; see {self.log}")

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("{"):
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    continue
                event["session"] = self.starts
                with self.cond:
                    self.events.append((time.monotonic(), event))
                    self.cond.notify_all()

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)
        self._logf.close()
        self.proc = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait(self, test: Callable[[dict[str, Any]], bool], timeout: float, since: int) -> dict[str, Any] | None:
        """The first event from index `since` on that passes `test`, waiting up to `timeout` s."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for _, e in self.events[since:]:
                    if test(e):
                        return e
                since = len(self.events)
                left = deadline - time.monotonic()
                if left <= 0 or not self.alive():
                    return None
                self.cond.wait(min(left, 0.5))

    def state(self) -> str | None:
        with self.cond:
            for _, e in reversed(self.events):
                if e["type"] == "state" and e.get("session") == self.starts:
                    return str(e["state"])
        return None

    def between(self, t0: float, t1: float) -> list[tuple[float, dict[str, Any]]]:
        with self.cond:
            return [(t, e) for t, e in self.events if t0 <= t <= t1]

    def log_size(self) -> int:
        try:
            return self.log.stat().st_size
        except OSError:
            return 0

    def log_since(self, offset: int) -> list[str]:
        """The `-vv` log lines written since `offset` (what the recognizer and the echo guard said then)."""
        try:
            with open(self.log, "rb") as f:
                f.seek(offset)
                text = f.read().decode(errors="replace")
        except OSError:
            return []
        keep = ("utterance", "early decision", "keyword", "dropped", "kept", "heard", "verifier", "echo")
        return [ln for ln in text.splitlines() if any(k in ln for k in keep)][:20]


def is_count(e: dict[str, Any]) -> bool:
    return e["type"] == "say" and e.get("kind") == "count"


# ---------------------------------------------------------------------------------------------- the trials
@dataclass
class Trial:
    """One phrase said once at a moment; what the transcript showed."""

    kind: str
    """'over counting', 'answering help', 'after pause', 'answering stop'."""
    utterance: Utterance
    start: float = 0.0
    end: float = 0.0
    state_before: str | None = None
    heard: bool = False
    latency: float | None = None
    outcome: str = ""
    commands: list[str] = field(default_factory=list)
    echo: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        u = self.utterance
        return {"kind": self.kind, "command": u.command, "phrase": u.phrase, "voice": u.voice, "heard": self.heard,
                "latency": self.latency, "outcome": self.outcome, "state_before": self.state_before,
                "commands_in_window": self.commands, "echo_in_window": self.echo, "log": self.log,
                "start": self.start, "end": self.end}


ACCEPT = {"resume": {"resume"}, "no": {"no"}, "yes": {"yes"}}
"""Commands that answer a trial's phrase (all else: itself)."""


class Bench:
    def __init__(self, guide: Guide, feeder: Feeder, voices: Voices, rng: random.Random, window: float) -> None:
        self.guide, self.feeder, self.voices, self.rng, self.window = guide, feeder, voices, rng, window
        self.trials: list[Trial] = []
        self.spoken: list[dict[str, Any]] = []
        """Everything played into the mic (trials and the unmeasured 'resume's that get a session going again)."""
        self.settle = 0
        """Counts to wait for before the next trial (a heard 'help' or 'where' is answered at length)."""

    def say(self, kind: str, u: Utterance) -> Trial:
        """Play one utterance and judge it from the transcript."""
        g = self.guide
        trial = Trial(kind, u, state_before=g.state())
        offset = g.log_size()
        trial.start, trial.end = self.feeder.say(u.audio)
        self.spoken.append({"command": u.command, "start": trial.start, "end": trial.end, "trial": True})
        want = ACCEPT.get(u.command, {u.command})
        hit = g.wait(lambda e: e["type"] == "command" and e["command"] in want and e.get("source") == "voice",
                     max(0.0, trial.end + self.window - time.monotonic()), since=self._index_at(trial.start))
        if hit is None:  # watch a little longer, to tell late from never
            time.sleep(max(0.0, trial.end + LATE - time.monotonic()))
        else:
            time.sleep(0.3)
        seen = g.between(trial.start, trial.end + (LATE if hit is None else self.window))
        trial.commands = [e["command"] for _, e in seen if e["type"] == "command" and e.get("source") == "voice"]
        trial.echo = [e["text"] for _, e in seen if e["type"] == "echo"]
        for t, e in seen:
            if e["type"] == "command" and e["command"] in want and e.get("source") == "voice":
                trial.latency = round(t - trial.end, 3)
                trial.heard = t <= trial.end + self.window
                break
        if trial.heard:
            trial.outcome = "heard"
        elif trial.latency is not None:
            trial.outcome = f"late ({trial.latency:.1f} s)"
        elif trial.echo:
            trial.outcome = "dropped as echo: " + ", ".join(repr(x) for x in trial.echo)
        elif trial.commands:
            trial.outcome = "heard as " + ", ".join(trial.commands)
        else:
            trial.outcome = "not heard"
        trial.log = g.log_since(offset)
        if trial.commands and set(trial.commands) & {"help", "where"}:
            self.settle = 2
        self.trials.append(trial)
        print(f"  {kind:15} {u.label():40} {trial.outcome}"
              + (f" ({trial.latency:.2f} s)" if trial.heard and trial.latency is not None else ""), file=sys.stderr)
        return trial

    def _index_at(self, t: float) -> int:
        with self.guide.cond:
            for i, (ta, _) in enumerate(self.guide.events):
                if ta >= t:
                    return i
            return len(self.guide.events)

    # ---- getting back to counting
    def counting(self) -> None:
        """Back to counting aloud, whatever the last trial did (a paused or stopped session, a finished one, a hint
        still being said)."""
        g = self.guide
        settle_counts, self.settle = self.settle, 0
        if settle_counts == 0 and g.alive() and g.state() == "strokes":
            return
        for _ in range(4):
            if not g.alive() or g.state() in ("finished", "stopped", "closing", None):
                g.start()
                return
            state = g.state()
            if state == "paused":
                for _ in range(3):
                    start, end = self.feeder.say(self.voices.synthetic("resume").audio)
                    self.spoken.append({"command": "resume", "start": start, "end": end, "trial": False})
                    if g.wait(lambda e: e["type"] == "state" and e["state"] != "paused", 3.0, len(g.events) - 1):
                        break
                else:
                    g.start()
                    return
                continue
            if state == "confirm_stop":  # "no" unheard: the question times out and the session carries on
                g.wait(lambda e: e["type"] == "state" and e["state"] != "confirm_stop", 20.0, len(g.events) - 1)
                continue
            since = len(g.events)
            for _ in range(max(1, settle_counts)):
                if g.wait(is_count, 20.0, since) is None:
                    break
                since = len(g.events)
            if g.state() == "strokes":
                return
        g.start()

    def random_moment(self) -> None:
        """A random moment of the counting: after the next count is announced, 0–1.9 s into the stroke."""
        g = self.guide
        g.wait(is_count, 10.0, len(g.events))
        time.sleep(self.rng.uniform(0.0, 1.9))

    # ---- the trials
    def over_counting(self, u: Utterance) -> Trial:
        self.counting()
        self.random_moment()
        return self.say("over counting", u)

    def pause_then_resume(self, u: Utterance, human_share: float) -> None:
        t = self.over_counting(u)
        if t.heard and self.guide.wait(lambda e: e["type"] == "state" and e["state"] == "paused", 3.0,
                                       self._index_at(t.start)):
            time.sleep(self.rng.uniform(1.0, 2.5))  # "Paused. Say resume to carry on." is being said
            self.say("after pause", self.voices.any("resume", human_share))

    def stop_then_answer(self, u: Utterance, answer: str, human_share: float) -> None:
        t = self.over_counting(u)
        self.answer_stop(t, answer, human_share)

    def answer_stop(self, t: Trial, answer: str, human_share: float) -> None:
        g = self.guide
        if t.heard and g.wait(lambda e: e["type"] == "state" and e["state"] == "confirm_stop", 3.0,
                              self._index_at(t.start)):
            time.sleep(self.rng.uniform(2.0, 4.0))  # "Do you want to end the session? Say yes to end, or no…"
            self.say("answering stop", self.voices.any(answer, human_share))

    def help_then(self, answer: Utterance, human_share: float) -> None:
        """'help', then during the help list (which names every command) the person says what they wanted."""
        t = self.over_counting(self.voices.synthetic("help"))
        if not t.heard:
            return
        g = self.guide
        if g.wait(lambda e: e["type"] == "say" and e.get("kind") == "hint" and "You can say" in e["text"], 3.0,
                  self._index_at(t.start)) is None:
            return
        time.sleep(self.rng.uniform(1.0, 3.5))  # into the list
        a = self.say("answering help", answer)
        if answer.command == "stop":
            self.answer_stop(a, "no", human_share)


def plan(rng: random.Random, voices: Voices, args: argparse.Namespace) -> list[tuple[str, Any]]:
    """The trials in a seeded order: (what, argument)."""
    items: list[tuple[str, Any]] = []
    for cmd in ("repeat", "help", "where", "slower", "faster", "louder", "quieter", "next", "back"):
        for _ in range(args.each):
            items.append(("once", voices.synthetic(cmd)))
    for _ in range(args.pauses):
        items.append(("pause", voices.synthetic("pause")))
    for _ in range(args.stops):
        items.append(("stop", voices.any("stop", args.human_share)))
    for i in range(args.help_answers):
        cmd = "stop" if i % 2 == 0 else "repeat"
        items.append(("help", voices.any(cmd, args.human_share) if cmd == "stop" else voices.synthetic(cmd)))
    rng.shuffle(items)
    # the session ends with a confirmed stop: the last "stop" is answered "yes"
    last_stop = max((i for i, (k, _) in enumerate(items) if k == "stop"), default=None)
    if last_stop is not None:
        items.append(items.pop(last_stop))
        items[-1] = ("stop-yes", items[-1][1])
    return items


# ------------------------------------------------------------------------------------------------ figures
def summarize(trials: list[dict[str, Any]], spoken: list[dict[str, Any]], events: list[dict[str, Any]],
              seconds: float) -> dict[str, Any]:
    """First-try rates per command and kind, false commands and echo drops."""
    def rate(ts: list[dict[str, Any]]) -> dict[str, Any]:
        n = len(ts)
        k = sum(t["heard"] for t in ts)
        lat = sorted(t["latency"] for t in ts if t["heard"] and t["latency"] is not None)
        return {"n": n, "heard": k, "rate": k / n if n else None,
                "latency_median": lat[len(lat) // 2] if lat else None,
                "latency_max": lat[-1] if lat else None}

    by_command: dict[str, list[dict[str, Any]]] = {}
    for t in trials:
        by_command.setdefault(f"{t['command']}|{t['kind']}", []).append(t)
    rows = {k: rate(v) for k, v in sorted(by_command.items())}
    over = [t for t in trials if t["kind"] in ("over counting", "answering help")]
    people = [t for t in trials if t["voice"].startswith("person")]
    # a voice command is what someone said (that command, within LATE s of its end), a mishearing (another
    # command while someone spoke) or a false command (nobody was speaking)
    def speaking(t: float) -> bool:
        return any(u["start"] <= t <= u["end"] + LATE for u in spoken)

    attributed: set[int] = set()
    for u in spoken:
        want = ACCEPT.get(u["command"], {u["command"]})
        for i, e in enumerate(events):
            if (e["type"] == "command" and e.get("source") == "voice" and e["command"] in want
                    and u["start"] <= e["arrived"] <= u["end"] + LATE and i not in attributed):
                attributed.add(i)
                break
    others = [(e, speaking(e["arrived"])) for i, e in enumerate(events)
              if e["type"] == "command" and e.get("source") == "voice" and i not in attributed]
    false = [{"command": e["command"], "session": e.get("session"), "t": e["t"]} for e, s in others if not s]
    misheard = [{"command": e["command"], "session": e.get("session"), "t": e["t"]} for e, s in others if s]
    echo = [{"text": e["text"], "t": e["t"], "session": e.get("session"), "during_speech": speaking(e["arrived"])}
            for e in events if e["type"] == "echo"]
    quiet = max(0.0, seconds - sum(u["end"] + LATE - u["start"] for u in spoken))
    return {"per_command": rows, "overall": rate(over), "all_trials": rate(trials),
            "stop": rate([t for t in over if t["command"] == "stop"]),
            "pause": rate([t for t in over if t["command"] == "pause"]),
            "people": rate(people),
            "false_commands": false, "false_per_hour": len(false) / (quiet / 3600) if quiet else None,
            "misheard": misheard, "echo_drops": echo, "seconds": seconds, "quiet_seconds": quiet,
            "misses": [{**{k: t[k] for k in ("command", "kind", "voice", "outcome", "log")}, "decoded": decoded(t["log"])}
                       for t in trials if not t["heard"]]}


def decoded(log: list[str]) -> str:
    """What the recognizer and the echo guard said about a moment, from its `-vv` lines, in a few words."""
    out = []
    for line in log:
        m = re.search(r"(?:utterance|early decision)[^:]*: '([^']*)' → (\S+)", line)
        if m:
            out.append(f"'{m.group(1)}' → {m.group(2)}")
            continue
        m = re.search(r"keyword '([^']*)' \(([\d.]+)\)", line)
        if m:
            out.append(f"keyword {m.group(1)} {m.group(2)}")
            continue
        m = re.search(r"(dropped|kept) '([^']*)'.*?: (.*)$", line)
        if m:
            out.append(f"{m.group(1)} '{m.group(2)}': {m.group(3)}")
    return "; ".join(out) or "–"


GOALS = {"overall": 0.85, "stop": 0.90, "false_per_hour": 10.0}


def section_key(r: dict[str, Any]) -> str:
    """`live` for the product's path; a comparison run (no canceller, a mic deaf to the speaker) has its own."""
    if r.get("speaker_in_mic_db", -6.0) is None:
        return "live:mic-deaf-to-speaker"
    return "live" if r.get("echo_cancel", True) else "live:no-echo-cancel"


def markdown(r: dict[str, Any]) -> str:
    s = r["summary"]
    variant = {"live": "", "live:mic-deaf-to-speaker": ", for comparison: the mic does not hear the speaker",
               "live:no-echo-cancel": ", for comparison: no echo cancellation"}[section_key(r)]
    lines = [f"## Live path: commands over counting aloud ({r['engine']}{variant})", ""]
    lines += bl.run_header(r["command"], r["date"], r["machine"])
    hears = r.get("speaker_in_mic_db", -6.0)
    lines += ["`voiceguide run` on the virtual sound devices: "
              + ("the mic does not hear the speaker" if hears is None else
                 f"the mic hears the speaker {-hears:.0f} dB down (~30 ms late)")
              + f", echo cancellation {'on' if r.get('echo_cancel', True) else '**off**'}, `--tts pyttsx3`, engine `{r['engine_requested']}` (the transcript's `listening` says "
              f"**{r['engine']}**), a bench pack counting strokes aloud with a cue every 2 s. Each phrase is said **once**, "
              f"at a random moment of the counting (seed {r['seed']}), by a voice held out of the keyword model's "
              f"training ({', '.join(r['voices'])}"
              + (f"; not available here: {', '.join(r['voices_missing'])}" if r["voices_missing"] else "")
              + (f"; and {r['people_clips']} clips of the corpus's held-out speakers for stop/go/no/yes"
                 if r.get("corpus", True) else "; the speech corpus is absent here: no human clips")
              + f"); heard first try = the command in the transcript within {r['window']:.0f} s of the word's end. "
              f"Phrases reach the mic at {r['level_db']:.0f} dBFS (active speech); the narration reaches it at "
              f"{r['narration_db']:.0f} dBFS. {s['seconds'] / 60:.1f} min of session, {r['sessions']} session(s).", ""]
    lines += bl.table(["what (#12)", "figure", "goal", "met?"], [
        ["heard first try, every command said over counting (and answering the help list)",
         f"{s['overall']['heard']} of {s['overall']['n']} ({bl.pct(s['overall']['rate'])})", "≥ 85%",
         bl.met(bl.at_least(s["overall"]["rate"], GOALS["overall"]))],
        ["\"stop\" heard first try", f"{s['stop']['heard']} of {s['stop']['n']} ({bl.pct(s['stop']['rate'])})", "≥ 90%",
         bl.met(bl.at_least(s["stop"]["rate"], GOALS["stop"]))],
        ["\"pause\" heard first try", f"{s['pause']['heard']} of {s['pause']['n']} ({bl.pct(s['pause']['rate'])})", "≥ 90%",
         bl.met(bl.at_least(s["pause"]["rate"], GOALS["stop"]))],
        ["people (held-out speakers' clips), every kind of trial",
         f"{s['people']['heard']} of {s['people']['n']} ({bl.pct(s['people']['rate'])})", None, None],
        [f"false commands while nobody spoke ({s['quiet_seconds'] / 60:.1f} min of counting)",
         f"{len(s['false_commands'])} ({s['false_per_hour']:.0f}/h)", "≤ 10/h",
         bl.met(bl.at_most(s["false_per_hour"], GOALS["false_per_hour"]))],
        ["another command than the one said (misheard)", str(len(s["misheard"])), None, None],
        ["`echo` drops (the guard took it for the speaker's own word)",
         f"{len(s['echo_drops'])} ({sum(e['during_speech'] for e in s['echo_drops'])} while a person spoke)", None, None],
    ]) + [""]
    rows = []
    for key, v in s["per_command"].items():
        cmd, kind = key.split("|")
        rows.append([PHRASES.get(cmd, cmd), kind, f"{v['heard']} of {v['n']}", bl.pct(v["rate"]),
                     bl.ms(v["latency_median"]), bl.ms(v["latency_max"])])
    lines += bl.table(["said", "when", "heard first try", "rate", "word end → event, median", "max"], rows) + [""]
    if s["misses"]:
        lines += ["Misses (the run's transcript and `-vv` log tell why):", ""]
        lines += bl.table(["said", "when", "voice", "what happened", "the recognizer's log then"],
                          [[PHRASES.get(m["command"], m["command"]), m["kind"], m["voice"], m["outcome"],
                            m.get("decoded") or decoded(m["log"])] for m in s["misses"]])
        lines += [""]
    if s["false_commands"]:
        lines += ["False commands: " + ", ".join(f"{f['command']} (session {f['session']}, t {f['t']:.1f} s)"
                                                  for f in s["false_commands"]) + ".", ""]
    if r.get("underruns"):
        lines += [f"The run's speaker underran {r['underruns']} times (ALSA `underrun occurred` in its log) and the "
                  f"1-min load average was {r['machine'].get('load1_start')} at the start, {r.get('load1_end')} at the "
                  "end: a CPU this starved delays and clips what the mic hears, so these figures may be low.", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engine", default="auto", help="recognizer for `run --engine` (default auto)")
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--each", type=int, default=1, help="times each other command is said (default 1)")
    ap.add_argument("--pauses", type=int, default=10, help="'pause' trials (each followed by 'resume')")
    ap.add_argument("--stops", type=int, default=10, help="'stop' trials (each followed by 'no', the last by 'yes')")
    ap.add_argument("--help-answers", type=int, default=4, help="'help' then 'stop'/'repeat' during the help list")
    ap.add_argument("--human-share", type=float, default=0.5, help="share of stop/go/no/yes said by corpus speakers")
    ap.add_argument("--level-db", type=float, default=-20.0, help="phrases' active-speech RMS at the mic, dBFS")
    ap.add_argument("--window", type=float, default=WINDOW, help="seconds after the word's end for 'first try'")
    ap.add_argument("--quiet", type=float, default=20.0, help="seconds of counting with nobody speaking first")
    ap.add_argument("--no-echo-cancel", action="store_true", help="run with --no-echo-cancel (for comparison)")
    ap.add_argument("--speaker-in-mic-db", type=float, default=-6.0, help="how loud the mic hears the speaker, dB")
    ap.add_argument("--mic-deaf-to-speaker", action="store_true",
                    help="the mic does not hear the speaker at all (the recognizer alone, for comparison)")
    ap.add_argument("--out", type=Path, default=None, help="write every trial and figure as JSON here")
    ap.add_argument("--markdown", type=Path, default=None, help="update the live section of BENCHMARKS.md")
    ap.add_argument("--keep", type=Path, default=None, help="keep the run's log and transcript in this folder")
    ap.add_argument("--from-json", type=Path, default=None, help="re-render the Markdown of a saved --out file")
    args = ap.parse_args(argv)
    if args.from_json is not None:
        saved = json.loads(args.from_json.read_text())
        if args.markdown:
            bl.replace_section(args.markdown, section_key(saved), markdown(saved))
        print(markdown(saved))
        return 0
    machine_at_start, date_at_start = bl.machine(), bl.now_utc()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="vg-bench-live-", dir="/tmp"))
    pack = write_pack(work / "pack")
    voices = Voices(args.level_db, rng)
    if not voices.human:
        from corpus import CORPUS

        print(f"bench_live: no speech corpus at {CORPUS} (VOICEGUIDE_CORPUS): synthetic voices only", file=sys.stderr)
    items = plan(rng, voices, args)
    print(f"bench_live: {len(items)} trials, voices {voices.synth}, work dir {work}", file=sys.stderr)
    t_begin = time.monotonic()
    with virtual_devices(None if args.mic_deaf_to_speaker else args.speaker_in_mic_db) as env:
        os.environ.update(env)  # before sounddevice is imported: PortAudio lists devices at import
        feeder = Feeder()
        guide = Guide(env, pack, work, args.engine, ["--no-echo-cancel"] if args.no_echo_cancel else [])
        bench = Bench(guide, feeder, voices, rng, args.window)
        try:
            guide.render()
            guide.start()
            t_session = time.monotonic()
            narration_db = mic_level(max(3.0, args.quiet - 2.0))
            time.sleep(max(0.0, args.quiet - (time.monotonic() - t_session)))
            for what, u in items:
                if what == "once":
                    bench.over_counting(u)
                elif what == "pause":
                    bench.pause_then_resume(u, args.human_share)
                elif what in ("stop", "stop-yes"):
                    bench.stop_then_answer(u, "yes" if what == "stop-yes" else "no", args.human_share)
                elif what == "help":
                    bench.help_then(u, args.human_share)
            time.sleep(2.0)
        finally:
            guide.stop()
            feeder.close()
    seconds = time.monotonic() - t_session
    events = [{**e, "arrived": t} for t, e in guide.events]
    underruns = guide.log.read_text(errors="replace").count("underrun occurred") if guide.log.exists() else 0
    engines = sorted({e["text"] for e in events if e["type"] == "listening"})
    trials = [t.as_dict() for t in bench.trials]
    result = {
        "engine": ", ".join(engines) or "?", "engine_requested": args.engine, "seed": args.seed,
        "voices": voices.synth, "voices_missing": voices.missing,
        "people_clips": sum(t["voice"].startswith("person") for t in trials), "corpus": bool(voices.human),
        "level_db": args.level_db, "narration_db": narration_db, "window": args.window,
        "echo_cancel": not args.no_echo_cancel, "sessions": guide.starts,
        "speaker_in_mic_db": None if args.mic_deaf_to_speaker else args.speaker_in_mic_db,
        "run_command": guide.command_line, "trials": trials,
        "summary": summarize(trials, bench.spoken, events, seconds),
        "underruns": underruns, "load1_end": round(os.getloadavg()[0], 2),
        "bench_seconds": time.monotonic() - t_begin,
        "machine": machine_at_start, "command": bl.command_line("bench_live.py", argv), "date": date_at_start,
    }
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        shutil.copy(guide.log, args.keep / "run.log")
        (args.keep / "transcript.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    shutil.rmtree(work, ignore_errors=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    if args.markdown:
        bl.replace_section(args.markdown, section_key(result), markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
