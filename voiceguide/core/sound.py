"""The one audio format between the parts: 16 kHz mono int16 (microphone chunks, recognizers, echo cancellation)."""

__all__ = ["SAMPLE_RATE"]

SAMPLE_RATE = 16000
"""Samples per second of every chunk a source hands on and every recognizer takes."""
