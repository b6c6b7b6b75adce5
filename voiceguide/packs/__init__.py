"""Narration packs: schema, loader with file:line errors, linter, timeline, built-in packs."""
