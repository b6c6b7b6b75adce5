"""The narration-pack schema: the single source of truth for what a `pack.toml` may say."""

from __future__ import annotations

import re
import string
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from voiceguide.core.commands import Command

__all__ = [
    "PLACEHOLDERS",
    "Pack",
    "PackInfo",
    "VoiceSettings",
    "CommandChanges",
    "Narration",
    "StrokeGroup",
    "Step",
    "sentences",
]

PLACEHOLDERS = frozenset({"count", "total", "step", "steps", "remaining"})
"""Placeholders narration may use. In a cue, {count} is the repetition being done; elsewhere, the
number of repetitions of the (first) stroke group. {total}: repetitions of the group (cue) or step;
{step}/{steps}: this step's number and the number of steps; {remaining}: repetitions left (cue) or
steps left after this one."""

_SLUG = r"^[a-z0-9][a-z0-9-]*$"
# BCP-47 in the shape we use: language, optional script and region (en, en-US, ko-KR, zh-Hans-CN).
_BCP47 = r"^[a-zA-Z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$"

Slug = Annotated[str, Field(pattern=_SLUG, min_length=1, max_length=64)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]


class _Strict(BaseModel):
    """Unknown keys are errors: a typo must not silently drop a field."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def sentences(say: str | list[str] | None) -> list[str]:
    """A `say` field as a list of sentences."""
    if say is None:
        return []
    return [say] if isinstance(say, str) else list(say)


def step_shape_problem(hold: bool, has_strokes: bool) -> str | None:
    """A step does strokes or waits (hold), exactly one of the two."""
    if hold and has_strokes:
        return "a step has either [[steps.strokes]] or hold = true, not both"
    if not hold and not has_strokes:
        return "a step needs [[steps.strokes]] or hold = true"
    return None


def _check_placeholders(texts: list[str]) -> list[str]:
    """Every `{name}` must be a known placeholder; braces must balance."""
    for text in texts:
        try:
            names = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
        except ValueError as exc:
            raise ValueError(f"bad braces in {text!r}: {exc} (write {{{{ and }}}} for literal braces)") from exc
        for name in names:
            if name not in PLACEHOLDERS:
                known = ", ".join("{" + p + "}" for p in sorted(PLACEHOLDERS))
                raise ValueError(f"unknown placeholder {{{name}}} (known: {known})")
    return texts


Say = Annotated[str | Annotated[list[Text], Field(min_length=1, max_length=50)], Field()]


class PackInfo(_Strict):
    """The `[pack]` table: who made the pack, in what language, and what it is."""

    id: Slug = Field(description="Stable identifier, e.g. 'facial-massage'.")
    title: Annotated[str, Field(min_length=1, max_length=120)]
    language: str = Field(pattern=_BCP47, description="BCP-47 language tag, e.g. en-US or ko-KR.")
    version: str = Field(default="1.0.0", pattern=r"^\d+(\.\d+){0,2}([-+][0-9A-Za-z.-]+)?$")
    author: str = Field(default="", max_length=200)
    license: str = Field(default="", max_length=100)
    description: str = Field(default="", max_length=2000)


class VoiceSettings(_Strict):
    """The `[voice]` table: how the narration sounds at tempo 1.0."""

    rate: int = Field(default=150, ge=80, le=300, description="Speech rate in words per minute.")
    name: str | None = Field(default=None, max_length=200, description="Engine voice name or id.")
    tempo: float = Field(default=1.0, ge=0.5, le=2.0, description="Default tempo (stroke-time multiplier).")


class CommandChanges(_Strict):
    """The `[commands]` table: phrases a pack adds to, or puts in place of, the built-in vocabulary."""

    add: dict[Command, list[Annotated[str, Field(min_length=1, max_length=60)]]] = Field(default_factory=dict)
    replace: dict[Command, list[Annotated[str, Field(min_length=1, max_length=60)]]] = Field(default_factory=dict)

    @field_validator("replace")
    @classmethod
    def _replace_not_empty(cls, value: dict[Command, list[str]]) -> dict[Command, list[str]]:
        for cmd, phrases in value.items():
            if not phrases:
                raise ValueError(f"replacing '{cmd.value}' with no phrase would make it unsayable")
        return value


class Narration(_Strict):
    """A block of sentences said once (intro, safety, closing)."""

    say: Say

    @field_validator("say")
    @classmethod
    def _placeholders(cls, value: str | list[str]) -> str | list[str]:
        _check_placeholders(sentences(value))
        return value


class StrokeGroup(_Strict):
    """A run of repeated strokes: `count` repetitions, `seconds` each at tempo 1.0."""

    count: int = Field(ge=1, le=200)
    seconds: float = Field(ge=0.5, le=60.0, description="Seconds per stroke at tempo 1.0.")
    cue: str | None = Field(default=None, max_length=200, description="Said on each repetition; else a tick.")
    count_aloud: bool = Field(default=True, description="Say the repetition number on each stroke.")
    sound: str | None = Field(
        default=None,
        max_length=255,
        pattern=r"(?i)^[^\\:*?\"<>|]+\.wav$",
        description="A WAV file in the pack folder played on each repetition instead of the built-in tick.",
    )
    say: Say | None = Field(default=None, description="Said before this group starts.")

    @field_validator("say", "cue")
    @classmethod
    def _placeholders(cls, value: str | list[str] | None) -> str | list[str] | None:
        _check_placeholders(sentences(value))
        return value

    def duration(self, tempo: float = 1.0) -> float:
        """Seconds the strokes take at a tempo."""
        return self.count * self.seconds * tempo


class Step(_Strict):
    """One step of the routine: narration, then stroke groups, or a hold until the person is ready."""

    id: Slug
    title: Annotated[str, Field(min_length=1, max_length=120)]
    area: Slug = Field(description="Facial area, e.g. forehead, cheeks, jawline, neck, face.")
    technique: Slug = Field(description="e.g. glide, tapping, kneading, acupressure, lymphatic-drainage.")
    say: Say
    strokes: list[StrokeGroup] = Field(default_factory=list, max_length=20)
    hold: bool = Field(default=False, description="Wait for 'next' or 'ready' instead of strokes.")
    hold_seconds: float = Field(default=30.0, ge=1, le=3600, description="Expected hold time, for timelines.")
    rest: float = Field(default=0.0, ge=0, le=600, description="Quiet seconds after the step.")

    @field_validator("say")
    @classmethod
    def _placeholders(cls, value: str | list[str]) -> str | list[str]:
        _check_placeholders(sentences(value))
        return value

    @model_validator(mode="after")
    def _strokes_or_hold(self) -> Step:
        problem = step_shape_problem(self.hold, bool(self.strokes))
        if problem:
            raise ValueError(problem)
        return self

    @property
    def total_strokes(self) -> int:
        """All repetitions of the step."""
        return sum(g.count for g in self.strokes)


class Pack(_Strict):
    """A whole `pack.toml`."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
        json_schema_extra={"title": "voiceguide narration pack (pack.toml)"},
    )

    pack: PackInfo
    voice: VoiceSettings = Field(default_factory=VoiceSettings)
    commands: CommandChanges = Field(default_factory=CommandChanges)
    intro: Narration | None = Field(default=None, description="Said once at the start; 'next' skips it.")
    safety: Narration | None = Field(default=None, description="Safety notes, said after the intro.")
    closing: Narration | None = Field(default=None, description="Said when the last step ends.")
    steps: list[Step] = Field(min_length=1, max_length=200)

    @field_validator("steps")
    @classmethod
    def _unique_ids(cls, steps: list[Step]) -> list[Step]:
        seen: set[str] = set()
        for step in steps:
            if step.id in seen:
                raise ValueError(f"duplicate step id '{step.id}'")
            seen.add(step.id)
        return steps


def is_slug(text: str) -> bool:
    """Whether a text is a valid pack or step id."""
    return re.match(_SLUG, text) is not None
