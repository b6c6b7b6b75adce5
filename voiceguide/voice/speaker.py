"""The session's voice: its output events (Say, Cue, Silence, Volume) become sound on one sink.

The run loop hands every session output to `Speaker.handle`; the Speaker tells it back, through
`on_narrated`, when a sentence is over (the session's `narration_done`), by the rule `simulate` uses
too (`NarrationLedger`). Given a `post` (the clock's), a sentence missing from the render cache is
synthesized on a worker thread, so the session's thread — and the next beat — never waits for it.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from voiceguide.audio.clip import AudioFileError, Clip, read_wav
from voiceguide.audio.mixer import Playback
from voiceguide.audio.player import AudioSink
from voiceguide.core.events import Cue, NowPlaying, Say, Silence, Volume
from voiceguide.session.ledger import NarrationLedger
from voiceguide.voice.base import VoiceError
from voiceguide.voice.cues import CUES, cue
from voiceguide.voice.narrator import Narrator
from voiceguide.voice.render_worker import Post, Rendering, RenderWorker

__all__ = ["Speaker", "trim_tail"]

_LOGGER = logging.getLogger(__name__)

BEAT_KINDS = frozenset({"count", "cue"})
"""Say kinds spoken on a stroke's beat."""

OVERLAY_CUES = frozenset({"tick"})
"""Cues that keep the beat: they play at once, over narration, instead of waiting their turn."""


def trim_tail(clip: Clip, keep: float = 0.05, level: float = 0.01) -> Clip:
    """The clip without the silence the engine leaves after speech (all but `keep` seconds of it)."""
    samples = clip.samples
    if samples.size == 0:
        return clip
    loud = np.nonzero(np.abs(samples) > level * max(1e-6, float(np.abs(samples).max())))[0]
    end = min(len(samples), (int(loud[-1]) + 1 if loud.size else 0) + int(keep * clip.sample_rate))
    return clip if end >= len(samples) else Clip(samples[:end], clip.sample_rate, clip.text, clip.kind)


class Speaker:
    """Session output → narration and cues on a sink; `on_narrated(say)` once per sentence, when it is over.

    `on_narrated` runs on the sink's notice thread (device) or inside `advance_to` (WAV sink): hand it
    to the session's own thread. Pack sounds (`sound = "knock.wav"`) are read from `sounds_dir`.
    With `post` (how to run a callable on the session's thread), uncached sentences render off that
    thread: sentences keep their order, a count plays only if no newer beat overtook it, and a Silence
    drops whatever was still rendering. Without it (a virtual clock: synthesis takes no clock time)
    every sentence is made at once. Call it from the session's thread only.
    """

    def __init__(
        self,
        narrator: Narrator,
        sink: AudioSink,
        on_narrated: Callable[[Say], None] | None = None,
        *,
        sounds_dir: Path | None = None,
        prefetch: Iterable[str] = (),
        post: Post | None = None,
    ) -> None:
        self.narrator = narrator
        self.sink = sink
        self._ledger = NarrationLedger(on_narrated or (lambda say: None))
        self._worker = RenderWorker(narrator, post, self._rendered) if post is not None else None
        self._queued: deque[Rendering] = deque()
        """Sentences (not counts) waiting for one before them that is still rendering, in order."""
        self._beat_job: Rendering | None = None
        """The latest beat's count while it renders (an older one that comes late is not played)."""
        self._generation = 0
        """Bumped by each Silence: what was rendering before it is not played."""
        self._sounds_dir = sounds_dir
        self._beat: Playback | None = None
        self._sounds: dict[str, Clip] = {}
        self._prefetch = [t for t in prefetch if t.strip()]
        self._prefetched_scales: set[float] = set()
        sink.subscribe(self._notice)

    def close(self) -> None:
        """Stop synthesizing (a sentence being made off-thread finishes first), then release the narration engine."""
        if self._worker is not None:
            self._worker.close()
        self.narrator.close()

    def prefetch(self, rate_scale: float = 1.0) -> None:
        """Render the pack's sentences at a speech rate in the background (once per rate)."""
        if rate_scale in self._prefetched_scales or not self._prefetch:
            return
        self._prefetched_scales.add(rate_scale)
        queued = self.narrator.prefetch(self._prefetch, rate_scale)
        if queued:
            _LOGGER.info("rendering %d sentences ahead at rate ×%.2f", queued, rate_scale)

    def handle(self, event: object) -> None:
        """Act on one session output; other events (StateChanged…) are ignored."""
        if isinstance(event, Say):
            self.say(event)
        elif isinstance(event, Cue):
            self.cue(event.sound)
        elif isinstance(event, Silence):
            self._generation += 1
            self._queued.clear()
            self._beat_job = None
            self.sink.stop()
            self._ledger.cut()  # what was sounding or queued is over, whatever notices come later (or not)
        elif isinstance(event, Volume):
            level = self.sink.louder() if event.change > 0 else self.sink.quieter()
            _LOGGER.info("volume %.0f%%", level * 100)

    def say(self, say: Say) -> None:
        """Queue a sentence (from cache when rendered ahead, else rendered now or off-thread)."""
        self.prefetch(say.rate_scale)  # a new tempo: the rest of the pack at the new rate, in the background
        job = Rendering(say, self._generation)
        beat = say.kind in BEAT_KINDS
        if beat:
            self._beat_job = None  # this beat's count overtakes any older one still rendering
        if self._worker is not None and say.text.strip() and not self.narrator.is_cached(say.text, say.rate_scale):
            _LOGGER.debug("rendering %r off the session's thread", say.text)
            if beat:
                self._beat_job = job
            else:
                self._queued.append(job)
            self._worker.submit(job)
            return
        self._make(job)
        if beat or not self._queued:
            self._play(job)
        else:
            self._queued.append(job)  # made, but its turn comes after a sentence still rendering

    def _make(self, job: Rendering) -> None:
        say = job.say
        try:
            job.clip = self.narrator.clip(say.text, say.rate_scale, kind=say.kind)
        except (VoiceError, AudioFileError, OSError) as exc:
            _LOGGER.error("could not synthesize %r: %s", say.text, exc)
            job.failed = True
        job.ready.set()

    def _rendered(self, job: Rendering) -> None:
        """On the session's thread: a sentence rendered off it is ready (or failed)."""
        if job.generation != self._generation:
            return  # a Silence came meanwhile
        if job.say.kind in BEAT_KINDS:
            if job is self._beat_job:
                self._beat_job = None
                self._play(job)
            return
        while self._queued and self._queued[0].ready.is_set():
            self._play(self._queued.popleft())

    def _play(self, job: Rendering) -> None:
        say, clip = job.say, job.clip
        if job.failed or clip is None:
            self._ledger.skipped(say)  # the session must not stall on a sentence the engine cannot make
            return
        if say.kind in BEAT_KINDS:
            # a count belongs to its beat: no trailing silence to hold up the queue, and the previous
            # count, if still sounding when the next beat comes, gives way
            clip = trim_tail(clip)
            if self._beat is not None and not self._beat.done.is_set():
                self.sink.cancel(self._beat)
                self._ledger.ended(self._beat.id)  # dropped unplayed sends no notice
        item = self.sink.play(clip)  # a WAV sink may send notices from inside play(): the ledger keeps them
        if say.kind in BEAT_KINDS:
            self._beat = item
        self._ledger.handed(say, item.id)
        if item.done.is_set():
            self._ledger.ended(item.id)  # an empty clip, or dropped before it played: no notice comes

    def cue(self, sound: str) -> None:
        """Play a generated cue (chime, tick) or a pack's WAV sound."""
        clip = self._sound(sound)
        if clip is not None:
            self.sink.play(clip, overlay=sound in OVERLAY_CUES or sound.lower().endswith(".wav"))

    def _sound(self, sound: str) -> Clip | None:
        if sound in self._sounds:
            return self._sounds[sound]
        clip: Clip | None
        if sound in CUES:
            clip = cue(sound, self.sink.sample_rate)
        elif sound.lower().endswith(".wav") and self._sounds_dir is not None:
            try:
                clip = read_wav(self._sounds_dir / sound, kind="cue").at_rate(self.sink.sample_rate)
            except AudioFileError as exc:
                _LOGGER.warning("%s; playing a tick instead", exc)
                clip = cue("tick", self.sink.sample_rate)
        else:
            _LOGGER.warning("unknown cue %r; playing a tick instead", sound)
            clip = cue("tick", self.sink.sample_rate)
        self._sounds[sound] = clip
        return clip

    def _notice(self, notice: NowPlaying) -> None:
        # 'interrupted' is final here: the session pauses by Silence and a re-say, never by `sink.pause`
        if notice.state != "started":
            self._ledger.ended(notice.id)
