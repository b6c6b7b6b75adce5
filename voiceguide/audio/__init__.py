"""Audio in and out: devices, the microphone or a WAV file as a source, the speaker or a WAV file as a sink."""
