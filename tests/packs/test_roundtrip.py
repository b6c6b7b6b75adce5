"""Property: any valid pack written as TOML loads back equal (the schema and the loader agree)."""

from __future__ import annotations

from typing import Any

import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voiceguide.core.commands import Command
from voiceguide.packs.loader import parse_pack
from voiceguide.packs.locate import scan_positions
from voiceguide.packs.schema import Pack

slug = st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True)
# printable text without braces (placeholders are tested elsewhere) and not blank
text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="{}"), min_size=1, max_size=60
).map(str.strip).filter(bool)
placeholder_text = st.builds(lambda a, p: f"{a} {{{p}}}", text, st.sampled_from(["count", "total", "step", "steps",
                                                                                "remaining"]))
say = st.one_of(text, placeholder_text, st.lists(st.one_of(text, placeholder_text), min_size=1, max_size=3))


@st.composite
def stroke_groups(draw: st.DrawFn) -> dict[str, Any]:
    group: dict[str, Any] = {
        "count": draw(st.integers(1, 200)),
        "seconds": draw(st.floats(0.5, 60.0, allow_nan=False).map(lambda x: round(x, 2))),
        "count_aloud": draw(st.booleans()),
    }
    if draw(st.booleans()):
        group["cue"] = draw(text)
    if draw(st.booleans()):
        group["say"] = draw(say)
    return group


@st.composite
def steps(draw: st.DrawFn, index: int) -> dict[str, Any]:
    step: dict[str, Any] = {
        "id": f"s{index}-{draw(slug)}",
        "title": draw(text),
        "area": draw(slug),
        "technique": draw(slug),
        "say": draw(say),
        "rest": draw(st.floats(0, 600, allow_nan=False).map(lambda x: round(x, 1))),
    }
    if draw(st.booleans()):
        step["hold"] = True
        step["hold_seconds"] = draw(st.integers(1, 3600))
    else:
        step["strokes"] = draw(st.lists(stroke_groups(), min_size=1, max_size=3))
    return step


@st.composite
def packs(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 5))
    data: dict[str, Any] = {
        "pack": {
            "id": draw(slug),
            "title": draw(text),
            "language": draw(st.sampled_from(["en-US", "ko-KR", "en", "de-DE", "zh-Hans-CN"])),
            "version": draw(st.sampled_from(["1", "1.0", "2.3.4", "1.0.0-beta.1"])),
            "author": draw(st.one_of(st.just(""), text)),
        },
        "voice": {"rate": draw(st.integers(80, 300)), "tempo": draw(st.sampled_from([0.5, 0.8, 1.0, 1.25, 2.0]))},
        "steps": [draw(steps(i)) for i in range(n)],
    }
    if draw(st.booleans()):
        data["intro"] = {"say": draw(say)}
    if draw(st.booleans()):
        cmd = draw(st.sampled_from(list(Command)))
        data["commands"] = {"add": {cmd.value: [draw(text.filter(lambda t: len(t) <= 60))]}}
    return data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(packs())
def test_toml_roundtrip(data: dict[str, Any]) -> None:
    expected = Pack.model_validate(data)
    source = tomli_w.dumps(expected.model_dump(mode="json", exclude_none=True))
    loaded = parse_pack(source.encode("utf-8"), "generated/pack.toml")
    assert loaded.pack == expected
    # the position scanner finds every step table the writer produced
    positions = scan_positions(source)
    for i in range(len(expected.steps)):
        assert ("steps", i) in positions
