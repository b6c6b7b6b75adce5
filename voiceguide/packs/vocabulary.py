"""A pack's phrases: the built-in vocabulary of its language with the pack's additions and replacements."""

from __future__ import annotations

from voiceguide.core.commands import Vocabulary, builtin_vocabulary
from voiceguide.packs.schema import Pack

__all__ = ["pack_vocabulary"]


def pack_vocabulary(pack: Pack) -> Vocabulary:
    """The command phrases a session of this pack listens for."""
    return builtin_vocabulary(pack.pack.language).with_changes(pack.commands.add, pack.commands.replace)
