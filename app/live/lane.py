"""One source's way through the live pipeline: its waiting audio and its clock.

Owned by the inference worker thread alone. The backend's stream sees contiguous audio; the
source's clock does not (overflow, a device away, audio skipped to catch up). A short list of
breakpoints maps each stream sample back to the source's clock, so text is always stamped with
the time it was spoken.
"""
from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from app.events import SAMPLE_RATE, AudioChunk, Gap, GapReason, TextEvent
from app.live.backend import StreamId, Taken
from app.live.stall import StallDetector
from engine.samples import Repairs, to_samples

KEEP_AFTER_SKIP_S = 0.5  # audio kept when catching up: the newest, so captions are current
MAP_HISTORY = 60 * SAMPLE_RATE  # stream samples of breakpoints kept for stamping late text


@dataclass(frozen=True)
class SourceConfig:
    spec: str  # what open_source takes: "mic", "system:NAME", a file path ...
    label: str  # what people read next to its text: "Me", "Them"


class Lane:
    """A source, the backend stream it feeds, and the map from stream time to source time."""

    def __init__(self, config: SourceConfig, source, stream: StreamId, step_samples: int,
                 offset: float = 0.0) -> None:
        self.config = config
        self.source = source  # an app.audio Source
        self.source_id: str = source.id
        self.label = config.label
        self.offset = offset  # seconds from the pipeline's start to this source's clock zero
        self.step_samples = step_samples  # the backend's step: audio is handed over in these
        self._pending: deque[tuple[int, np.ndarray]] = deque()  # (source sample, audio)
        self._pending_n = 0
        self.error: str | None = None
        self.source_ended = False
        self.ended = False
        self.rtf = 0.0
        self.repairs = Repairs()  # samples not finite (made silent) or outside [-1, 1] (clipped)
        self._repairs_told = False
        self.use_stream(stream)

    def use_stream(self, stream: StreamId) -> None:
        """Continue with a fresh backend stream (a new delay): its clock starts at 0."""
        self.stream = stream
        self.stall = StallDetector(self.step_samples / SAMPLE_RATE)
        self._fed = 0  # samples given to this stream
        self._fed_src_end: int | None = None  # source sample just after the last one fed
        self._map: list[tuple[int, int]] = []  # (stream sample, source sample) where a run starts

    # -- audio in -----------------------------------------------------------------------------

    @property
    def pending_seconds(self) -> float:
        """Audio captured but not yet given to the backend: the lag."""
        return self._pending_n / SAMPLE_RATE

    @property
    def pending_steps(self) -> int:
        """Whole backend steps of audio waiting."""
        return self._pending_n // self.step_samples

    def add_audio(self, chunk: AudioChunk) -> None:
        if chunk.samples.size:
            self._pending.append((round(chunk.t * SAMPLE_RATE), chunk.samples))
            self._pending_n += chunk.samples.size

    def catch_up(self, max_lag_s: float) -> Gap | None:
        """Drop the oldest waiting audio when decoding fell more than ``max_lag_s`` behind."""
        if self.pending_seconds <= max_lag_s:
            return None
        drop = self._pending_n - round(KEEP_AFTER_SKIP_S * SAMPLE_RATE)
        first = self._pending[0][0]
        taken = self._take(drop)
        return self.gap(first / SAMPLE_RATE, taken.size / SAMPLE_RATE, GapReason.SKIP)

    def gap(self, t: float, duration: float, reason: GapReason) -> Gap:
        """A gap at source time ``t`` (seconds), on the pipeline's clock and with the label."""
        return Gap(self.source_id, t + self.offset, duration, reason, self.label)

    def take_audio(self, budget_s: float) -> np.ndarray:
        """Up to ``budget_s`` of the waiting audio, for the backend; float32 (n,).

        Whole steps only while the source runs (the rest waits for its next samples), so that
        streams fed in the same turn reach their step boundaries together and a batched backend
        steps them as one. Everything once the source ended or when ``budget_s`` is infinite.
        """
        if self.ended:
            return np.zeros(0, np.float32)
        if math.isinf(budget_s):
            n = self._pending_n
        else:
            n = min(self._pending_n, round(budget_s * SAMPLE_RATE))
            if not self.source_ended:
                n -= n % self.step_samples
        self._note_runs(n)
        audio, repairs = to_samples(self._take(n))  # NaN would silence the stream for seconds
        self.repairs += repairs
        self._fed += audio.size
        self.stall.add_audio(audio)
        return audio

    def repairs_news(self) -> str | None:
        """Once per lane, when audio had to be repaired: what happened, for people."""
        if not self.repairs or self._repairs_told:
            return None
        self._repairs_told = True
        return self.repairs.message()

    def _take(self, n: int) -> np.ndarray:
        """The oldest ``n`` waiting samples (fewer if fewer wait), noting clock jumps."""
        parts, got = [], 0
        while self._pending and got < n:
            src, audio = self._pending.popleft()
            if audio.size > n - got:
                rest = n - got
                self._pending.appendleft((src + rest, audio[rest:]))
                audio = audio[:rest]
            parts.append(audio)
            got += audio.size
        self._pending_n -= got
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)

    def _note_runs(self, n: int) -> None:
        """Record a breakpoint wherever the next ``n`` waiting samples jump on the source clock."""
        at, left = self._fed, n
        for src, audio in self._pending:
            if left <= 0:
                break
            if src != self._fed_src_end:
                self._map.append((at, src))
            used = min(audio.size, left)
            at, left = at + used, left - used
            self._fed_src_end = src + used
        horizon = self._fed - MAP_HISTORY
        while len(self._map) > 1 and self._map[1][0] <= horizon:
            self._map.pop(0)

    # -- text out -----------------------------------------------------------------------------

    def stamp(self, taken: Taken) -> tuple[list[TextEvent], list[Gap]]:
        """What the backend wrote and lost, on the source's clock, labelled."""
        self.stall.add_steps(taken.steps, any(p.text for p in taken.pieces))
        now = time.time()
        texts = [
            TextEvent(self.source_id, self.label, p.text, self._source_time(p.start) + self.offset,
                      self._source_time(p.end) + self.offset, now)
            for p in taken.pieces
            if p.text
        ]
        gaps = [self.gap(self._source_time(t), d, GapReason.ENGINE) for t, d in taken.lost]
        return texts, gaps

    def _source_time(self, stream_seconds: float) -> float:
        """Seconds on the source's own clock of a time on the backend stream's."""
        x = round(stream_seconds * SAMPLE_RATE)
        base_stream, base_src = self._map[0] if self._map else (0, 0)
        for m, s in self._map:
            if m > x:
                break
            base_stream, base_src = m, s
        return (base_src + x - base_stream) / SAMPLE_RATE

    def drained(self) -> bool:
        """The source ended and all its audio was given to the backend: time to finish."""
        return self.source_ended and not self._pending_n and not self.ended
