#!/usr/bin/env python3
"""Check the virtual sound devices with real PortAudio streams: a tone played into one device must come out of another.

Run after `eval "$(bash scripts/virtual-audio-up.sh)"`; exit 0 when the tone is heard clean (docs/virtual-audio.md).

    python scripts/loopcheck.py [OUT_DEVICE] [IN_DEVICE] [IN_RATE] [OUT_RATE] [LATENCY]
"""

from __future__ import annotations

import sys
import threading
import time

import numpy as np

LEAD_S, TONE_S, TAIL_S = 0.5, 1.0, 0.7
THRESHOLD = 0.05


def loopcheck(out_dev: str = "vmic_feed", in_dev: str = "vmic", in_rate: int = 16000, out_rate: int = 48000,
              latency: str = "high") -> bool:
    """Play a 1 kHz tone on `out_dev` while recording `in_dev`; True when the capture is that tone."""
    import sounddevice as sd

    n_out = int(out_rate * (LEAD_S + TONE_S + TAIL_S))
    onset = int(out_rate * LEAD_S)
    t = np.arange(int(out_rate * TONE_S)) / out_rate
    play = np.zeros(n_out, dtype="float32")
    play[onset:onset + t.size] = 0.5 * np.sin(2 * np.pi * 1000 * t)
    pos = 0
    onset_written: list[float] = []  # clock time the onset was handed to PortAudio
    blocks: list[tuple[float, np.ndarray]] = []
    done = threading.Event()

    def out_cb(outdata: np.ndarray, frames: int, time_info: object, status: object) -> None:
        nonlocal pos
        chunk = play[pos:pos + frames]
        outdata[:chunk.size, 0] = chunk
        outdata[chunk.size:, 0] = 0
        if not onset_written and pos <= onset < pos + frames:
            onset_written.append(time.monotonic())
        pos += frames
        if pos >= n_out:
            raise sd.CallbackStop

    def in_cb(indata: np.ndarray, frames: int, time_info: object, status: object) -> None:
        blocks.append((time.monotonic(), indata[:, 0].copy()))

    with sd.InputStream(device=in_dev, samplerate=in_rate, channels=1, dtype="float32", callback=in_cb,
                        latency=latency) as ins:
        time.sleep(0.2)  # let the capture settle
        with sd.OutputStream(device=out_dev, samplerate=out_rate, channels=1, dtype="float32", callback=out_cb,
                             finished_callback=done.set, latency=latency) as outs:
            print(f"in latency {ins.latency * 1000:.1f} ms, out latency {outs.latency * 1000:.1f} ms")
            done.wait(10)
        time.sleep(0.5)

    rec = np.concatenate([b for _, b in blocks]) if blocks else np.zeros(1, np.float32)
    seen = next((tcb for tcb, b in blocks if np.max(np.abs(b)) > THRESHOLD), None)
    rms = float(np.sqrt(np.mean(rec**2)))
    spectrum = np.abs(np.fft.rfft(rec * np.hanning(rec.size)))
    peak_hz = float(np.fft.rfftfreq(rec.size, 1 / in_rate)[np.argmax(spectrum)])
    ref = np.interp(np.arange(int(TONE_S * in_rate)) / in_rate, t, play[onset:onset + t.size]).astype("float32")
    loud = np.abs(rec) > THRESHOLD
    ncc = 0.0
    if loud.any():
        seg = rec[int(np.argmax(loud)):][: ref.size]
        ncc = float(np.max(np.correlate(seg, ref, "full")) / (np.linalg.norm(seg) * np.linalg.norm(ref) + 1e-12))
    ok = rms > 0.05 and abs(peak_hz - 1000) < 10 and ncc > 0.9 and seen is not None
    lat = (seen - onset_written[0]) * 1000 if seen is not None and onset_written else float("nan")
    print(f"RESULT ok={ok} rms={rms:.3f} peak={peak_hz:.1f}Hz ncc={ncc:.3f} captured={rec.size / in_rate:.2f}s "
          f"latency_write_to_input_cb={lat:.1f}ms")
    return ok


def main(argv: list[str]) -> int:
    """Arguments by position, as the usage line shows."""
    defaults: list[str] = ["vmic_feed", "vmic", "16000", "48000", "high"]
    a = argv + defaults[len(argv):]
    return 0 if loopcheck(a[0], a[1], int(a[2]), int(a[3]), a[4]) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
