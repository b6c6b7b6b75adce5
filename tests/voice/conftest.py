"""Shared by the narration tests: a tiny pack (two steps, counts, a hold) that renders in seconds."""

from __future__ import annotations

from pathlib import Path

import pytest

PACK = """
[pack]
id = "tiny"
title = "Tiny routine"
language = "en-US"

[voice]
rate = 140

[intro]
say = ["Welcome.", "Sit comfortably."]

[closing]
say = "All done."

[[steps]]
id = "forehead"
title = "Forehead"
area = "forehead"
technique = "glide"
say = ["Step {step} of {steps}: the forehead.", "Glide up {count} times."]

[[steps.strokes]]
count = 3
seconds = 2.0
cue = "up"

[[steps.strokes]]
say = "Now out to the temples."
count = 2
seconds = 2.0
count_aloud = false

[[steps]]
id = "breathe"
title = "Breathe"
area = "face"
technique = "rest"
say = "Breathe slowly. Welcome."
hold = true
"""


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "pack.toml").write_text(PACK, encoding="utf-8")
    return folder
