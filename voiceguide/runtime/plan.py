"""What a run was asked for (RunSettings) and where commands come from and sound goes (plan_io → IoPlan)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from voiceguide.config import Config
from voiceguide.session.settings import SessionSettings

__all__ = ["IoPlan", "RunSettings", "plan_io"]

_DEFAULT = Config()
"""The settings model's defaults: RunSettings restates none of them."""


@dataclass(frozen=True)
class RunSettings:
    """Everything `voiceguide run` was asked for: the config (file, then flags) resolved for one pack, plus the
    run's own flags (input/output WAV, console, speed)."""

    input_device: str | int | None = None
    """Microphone name or index (None: the default one)."""
    output_device: str | int | None = None
    """Speaker name or index (None: the default one)."""
    input_device_explicit: bool = False
    """The input device was named: its absence is an error, not a reason to fall back."""
    output_device_explicit: bool = False
    """The output device was named: its absence is an error, not a reason to fall back."""
    input_wav: Path | None = None
    """Listen to this file instead of a microphone."""
    output_wav: Path | None = None
    """Write what would be played to this file instead of a speaker."""
    fast: bool = False
    """With --input-wav: as fast as possible instead of in real time."""
    console: bool = False
    """Type commands and read narration, whatever devices exist."""
    speed: float = 1.0
    """Run the real clock this many times faster (console dry runs and tests; sound needs 1)."""
    engine: str = _DEFAULT.engine
    """Recognizer: auto, vosk, keywords or pocketsphinx (config.py)."""
    model: Path | None = None
    """A vosk model folder."""
    language: str | None = None
    """Recognition language (None: the pack's)."""
    tts: str = _DEFAULT.tts
    """Narration engine: auto, piper or pyttsx3 (`run` passes the one auto stands for for the pack)."""
    voice: str | None = None
    """Narration voice (None: the pack's, else one for its language)."""
    volume: float = _DEFAULT.volume
    """Starting speaker volume, 0 to 1."""
    cache_dir: Path | None = None
    """Render cache for narration (None: the user cache dir)."""
    json: bool = False
    """Transcript as one JSON object per line."""
    echo_cancel: bool = _DEFAULT.echo_cancel
    """With a real speaker and mic: take the speaker's own sound out of the mic (AEC3), so commands are heard
    while it talks; without it they are heard only between sentences."""
    session: SessionSettings = field(default_factory=SessionSettings)
    """How the session paces itself, and where history goes."""


@dataclass(frozen=True)
class IoPlan:
    """Where commands come from and where sound goes, with the notices that explain any fallback."""

    listen: str
    """'mic', 'wav' or 'keyboard'."""
    speak: str
    """'device', 'wav' or 'print'."""
    notices: tuple[str, ...] = ()


def plan_io(settings: RunSettings, device_probe: Callable[[str, str | int | None], str | None]) -> IoPlan:
    """Decide input and output; `device_probe(direction, spec)` returns None when usable, else why not.

    A device that was asked for by name and is missing is an error (raised as ValueError with the reason);
    a default device that is missing falls back to the console, said in one line.
    """
    notices: list[str] = []

    def device_or(direction: str, spec: str | int | None, explicit: bool, found: str, fallback: str,
                  notice: str) -> str:
        """`found` when the device is usable; else an error if it was named, or the console with a notice."""
        problem = device_probe(direction, spec)
        if problem is None:
            return found
        if explicit:
            raise ValueError(problem)
        notices.append(notice.format(problem=problem))
        return fallback

    if settings.console:
        return IoPlan("keyboard", "wav" if settings.output_wav else "print")
    if settings.input_wav is not None:
        listen = "wav"
    else:
        listen = device_or("input", settings.input_device, settings.input_device_explicit, "mic", "keyboard",
                           "No microphone ({problem}): type the commands instead.")
    if settings.output_wav is not None:
        speak = "wav"
    elif listen == "wav" and settings.fast:
        speak = "print"  # as fast as possible cannot be played aloud
    else:
        speak = device_or("output", settings.output_device, settings.output_device_explicit, "device", "print",
                          "No speaker ({problem}): the narration is printed instead.")
    return IoPlan(listen, speak, tuple(notices))
