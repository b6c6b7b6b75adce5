"""Hearing commands: vocabulary, recognizers, models and the echo guard."""
