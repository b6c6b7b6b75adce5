"""The domain's words and every typed event: the ground floor, importing nothing of voiceguide."""
