"""The segmenter over a running tap: WebRTC alone would call the whole stretch one endless utterance."""

from __future__ import annotations

import numpy as np
import pytest
from audio_helpers import CORPUS, corpus_clips, read16

from voiceguide.speech.vad import FRAME, Segmenter


def _segments(audio: np.ndarray, webrtc) -> list[tuple[float, float]]:
    seg = Segmenter(webrtc=webrtc)
    out = []
    for i in range(0, len(audio) // FRAME * FRAME, FRAME):
        if seg.process(audio[i : i + FRAME].tobytes()) == "end":
            out.append((seg.speech_start, seg.speech_end))
    if seg.finish() == "end":
        out.append((seg.speech_start, seg.speech_end))
    return out


@pytest.mark.corpus
def test_words_over_a_running_tap_are_cut_out_one_by_one():
    import pocketsphinx

    clips = [c for c in corpus_clips() if c.word == "stop"][:6]
    tap = read16(CORPUS / "noise" / "running_tap.wav").astype(np.float64)
    track = np.zeros(16000 * 3 * len(clips))
    for k, clip in enumerate(clips):
        s = read16(clip.path).astype(np.float64)
        track[k * 48000 + 16000 : k * 48000 + 16000 + len(s)] += s
    noise = tap[: len(track)] * np.sqrt(np.mean(track[track != 0] ** 2) / np.mean(tap**2) / 10)  # about 10 dB
    audio = np.clip(track + noise, -32768, 32767).astype(np.int16)

    found = _segments(audio, pocketsphinx.Vad(2))
    assert all(end - start < 1.5 for start, end in found), found  # never one long stretch of "speech"
    hit = [k for k in range(len(clips)) if any(k * 3 + 0.9 <= end and start <= k * 3 + 2.1 for start, end in found)]
    assert len(hit) >= 4, found  # measured: 4 of 6 "stop"s at about 10 dB

    webrtc_only = pocketsphinx.Endpointer(vad_mode=2)
    n = webrtc_only.frame_bytes // 2
    in_speech = 0
    for i in range(0, len(audio) - n + 1, n):
        webrtc_only.process(audio[i : i + n].tobytes())
        in_speech += webrtc_only.in_speech
    assert in_speech * webrtc_only.frame_length > 0.8 * len(audio) / 16000  # what the noise floor is for


def test_digital_silence_is_never_speech():
    seg = Segmenter()
    assert all(seg.process(bytes(2 * FRAME)) is None for _ in range(100))
    assert not seg.in_speech
