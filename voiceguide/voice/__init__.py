"""Narration: speech engines render sentences to cached WAV clips; cues are generated in code."""
