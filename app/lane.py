"""One source's way through the live pipeline: its waiting audio, its model stream, its clock.

Owned by the inference worker thread alone. The model stream sees contiguous audio; the source's
clock does not (overflow, a device away, audio skipped to catch up). A short list of breakpoints
maps each model-stream sample back to the source's clock, so text is always stamped with the
time it was spoken.
"""
from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

import numpy as np

from app.events import AudioChunk, Gap, TextEvent

RATE = 16000
STALL_PADS = 1000  # 80 s without text; normal silences give runs of 25 to 165 pads
STALL_SPEECH_DB = -40.0  # mean level of the run above which silence is not the reason
KEEP_AFTER_SKIP_S = 0.5  # audio kept when catching up: the newest, so captions are current
MAP_HISTORY = 60 * RATE  # model samples of breakpoints kept for stamping late text


class Lane:
    def __init__(self, config, source, stream, offset: float = 0.0) -> None:
        self.config = config
        self.offset = offset  # seconds from the pipeline's start to this source's clock zero
        self.label = config.label
        self.source = source
        self._pending: deque[tuple[int, np.ndarray]] = deque()  # (source sample, audio)
        self._pending_n = 0
        self.error: str | None = None
        self.source_ended = False
        self.ended = False
        self.rtf = 0.0
        self.use_stream(stream)

    def use_stream(self, stream) -> None:
        """Continue with a fresh model stream (a new delay, or a new group)."""
        self.stream = stream
        self._pad_id = stream.model.tokenizer.streaming_pad
        self._fed = 0  # samples given to this stream
        self._fed_src_end: int | None = None  # source sample just after the last one fed
        self._map: list[tuple[int, int]] = []  # (model sample, source sample) where a run starts
        self._seen = 0  # tokens of this stream already inspected
        self._pad_run = 0
        self._run_energy = [0.0, 0]  # sum of squares, samples, over the current pad run
        self._warned = False

    # -- audio in -----------------------------------------------------------------------------

    @property
    def step_seconds(self) -> float:
        return 0.08

    @property
    def pending_seconds(self) -> float:
        return self._pending_n / RATE

    @property
    def lag_seconds(self) -> float:
        """Audio captured but not yet given to the model."""
        return self.pending_seconds

    def add_audio(self, chunk: AudioChunk) -> None:
        if chunk.samples.size:
            self._pending.append((round(chunk.t * RATE), chunk.samples))
            self._pending_n += chunk.samples.size

    def catch_up(self, max_lag_s: float, emit_gap: Callable[[Gap], None]) -> None:
        """Drop the oldest waiting audio when decoding fell more than ``max_lag_s`` behind."""
        if self.pending_seconds <= max_lag_s:
            return
        drop = self._pending_n - round(KEEP_AFTER_SKIP_S * RATE)
        first = self._pending[0][0]
        taken = self._take(drop)
        emit_gap(Gap(self.label, first / RATE + self.offset, taken.size / RATE, "skip"))

    def _take(self, n: int) -> np.ndarray:
        """The oldest ``n`` waiting samples (fewer if fewer wait), noting clock jumps."""
        parts, got = [], 0
        while self._pending and got < n:
            src, audio = self._pending.popleft()
            if audio.size > n - got:
                rest = n - got
                self._pending.appendleft((src + rest, audio[rest:]))
                audio = audio[:rest]
            parts.append((src, audio))
            got += audio.size
        self._pending_n -= got
        return np.concatenate([a for _, a in parts]) if parts else np.zeros(0, np.float32)

    # -- decoding -----------------------------------------------------------------------------

    def push(self, budget_s: float) -> int:
        """Hand the stream up to ``budget_s`` of waiting audio (decoded by the group's run)."""
        if self.ended:
            return 0
        n = self._pending_n if math.isinf(budget_s) else min(self._pending_n, round(budget_s * RATE))
        if n == 0:
            return 0
        self._note_runs(n)
        audio = self._take(n)
        self.stream.append(audio)
        self._fed += audio.size
        self._add_energy(audio)
        return audio.size

    def collect(self, rtf: float | None = None) -> list[TextEvent]:
        """The text the stream wrote since the last call, on the source's clock."""
        if rtf is not None:
            self.rtf = 0.8 * self.rtf + 0.2 * rtf if self.rtf else rtf
        self._track_stall()
        return self._events(self.stream.take_output())

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

    def _source_time(self, model_seconds: float) -> float:
        x = round(model_seconds * RATE)
        base_model, base_src = self._map[0] if self._map else (0, 0)
        for m, s in self._map:
            if m > x:
                break
            base_model, base_src = m, s
        return (base_src + x - base_model) / RATE + self.offset

    def _events(self, pieces) -> list[TextEvent]:
        now = time.time()
        return [
            TextEvent(self.label, p.text, self._source_time(p.start), self._source_time(p.end), now)
            for p in pieces
            if p.text
        ]

    def _add_energy(self, audio: np.ndarray) -> None:
        self._run_energy[0] += float(np.dot(audio, audio))
        self._run_energy[1] += audio.size

    def _track_stall(self) -> None:
        tokens = self.stream.tokens_from(self._seen)
        self._seen += len(tokens)
        for token in tokens:
            if token == self._pad_id:
                self._pad_run += 1
            else:
                self._pad_run, self._run_energy, self._warned = 0, [0.0, 0], False

    def stall_warning(self) -> str | None:
        """Once per run: thousands of [STREAMING_PAD] over audio loud enough to be speech."""
        if self._warned or self._pad_run < STALL_PADS or not self._run_energy[1]:
            return None
        level = 10 * math.log10(max(self._run_energy[0] / self._run_energy[1], 1e-12))
        if level < STALL_SPEECH_DB:
            return None
        self._warned = True
        return (
            f"no text for {self._pad_run * 0.08:.0f} s although the audio sounds like speech "
            f"({level:.0f} dBFS): captioning may be stuck. Changing the delay restarts it."
        )

    # -- endings ------------------------------------------------------------------------------

    def ended_cleanly_and_drained(self) -> bool:
        return self.source_ended and not self._pending_n and not self.ended

    def finish(self) -> list[TextEvent]:
        """End the stream: its last words come out. The lane takes no more audio."""
        if self.ended:
            return []
        self.ended = True
        return self.finish_stream()

    def finish_stream(self) -> list[TextEvent]:
        """Right-pad and drain the current stream; the lane may go on with a new one."""
        pieces = self.stream.take_output() if self.stream.finished else self.stream.finish()
        self._track_stall()
        return self._events(pieces)
