"""Typed commands: what a line typed at the keyboard means (`run --console`, `session console`, the no-mic fallback)."""

from __future__ import annotations

from voiceguide.core.commands import Command, Vocabulary

__all__ = ["typed_command"]

def typed_command(vocabulary: Vocabulary, line: str) -> Command | None:
    """A typed line as a command: any phrase of the vocabulary, or a command's English name."""
    text = line.strip()
    if not text:
        return None
    command = vocabulary.match(text)
    if command is not None:
        return command
    try:
        return Command(text.lower())
    except ValueError:
        return None
