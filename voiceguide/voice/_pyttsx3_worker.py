"""A child process that owns pyttsx3: one JSON request per line in, one JSON answer per line out.

pyttsx3 hangs in `runAndWait`, fails at `stop()` and prints to stdout; kept in its own process it can
be killed and restarted by the parent without taking voiceguide down, and it never owns the speaker.
"""

from __future__ import annotations

import json
import os
import sys
import wave
from typing import Any


def _voices(engine: Any) -> list[dict[str, Any]]:
    out = []
    for v in engine.getProperty("voices"):
        out.append(
            {
                "id": str(v.id),
                "name": str(v.name or v.id),
                "languages": [str(x) for x in (v.languages or [])],
                "gender": v.gender,
            }
        )
    return out


def _espeak_synchronize() -> Any:
    """espeak's "wait until queued commands are done", or a no-op on engines other than espeak."""
    try:
        from pyttsx3.drivers import _espeak
    except Exception:  # noqa: BLE001 - not espeak (macOS, Windows): nothing to wait for
        return lambda: None
    return _espeak.Synchronize


def _frames(path: str) -> int:
    try:
        with wave.open(path, "rb") as wav:
            return wav.getnframes()
    except (OSError, EOFError, wave.Error):
        return 0


def _serve(proto: Any) -> int:
    def answer(obj: dict[str, Any]) -> None:
        proto.write(json.dumps(obj) + "\n")
        proto.flush()

    try:
        import pyttsx3

        engine = pyttsx3.init()
        synchronize = _espeak_synchronize()
        default_voice = engine.getProperty("voice")
    except Exception as exc:  # noqa: BLE001 - any failure here is reported to the parent as text
        answer({"ok": False, "error": f"pyttsx3 could not start: {type(exc).__name__}: {exc}"})
        return 1
    answer({"ok": True, "ready": True, "default_voice": default_voice})
    current_voice = default_voice
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            op = req.get("op")
            if op == "voices":
                answer({"ok": True, "voices": _voices(engine), "default_voice": default_voice})
            elif op == "render":
                voice = req.get("voice") or default_voice
                for _attempt in range(2):
                    if voice != current_voice:
                        engine.setProperty("voice", voice)
                        current_voice = voice
                    engine.setProperty("rate", int(req["rate"]))
                    # espeak queues property changes on its own thread, and pyttsx3's runAndWait cancels
                    # whatever is still queued: without this wait a new rate or voice is sometimes lost.
                    synchronize()
                    engine.save_to_file(req["text"], req["path"])
                    engine.runAndWait()
                    if _frames(req["path"]) > 0:
                        break
                answer({"ok": True})
            elif op == "quit":
                answer({"ok": True})
                return 0
            else:
                answer({"ok": False, "error": f"unknown op {op!r}"})
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which decides
            answer({"ok": False, "error": f"{type(exc).__name__}: {exc}"})
    return 0


def main() -> int:
    """Keep the protocol on the real stdout; send whatever pyttsx3 prints to /dev/null."""
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    return _serve(proto)


if __name__ == "__main__":
    sys.exit(main())
