"""Fakes of the backend protocol; the conformance test holds them to the local engine's contract."""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import numpy as np

from app.events import Piece
from app.live.backend import (
    READY,
    Backend,
    BackendError,
    BackendStatus,
    Capabilities,
    StreamId,
    Taken,
)
from engine.delay import check_delay


@dataclass
class _Scripted:
    fed: int = 0  # samples decoded
    waiting: int = 0  # samples pushed, not yet decoded
    steps: int = 0  # steps decoded
    reported: int = 0  # steps already taken
    finished: bool = False
    out: list[Piece] = field(default_factory=list)


class ScriptedBackend:
    """One step per ``step_samples`` pushed; after step number k it writes ``pieces_at[k]``."""

    status = READY

    def __init__(self, pieces_at: dict[int, Piece] | None = None, step_samples: int = 1280):
        self.pieces_at = pieces_at or {}
        self.capabilities = Capabilities(step_samples=step_samples)
        self._streams: dict[StreamId, _Scripted] = {}
        self._ids = itertools.count(1)


    def open(self, delay_ms: int) -> StreamId:
        check_delay(delay_ms)
        stream = StreamId(next(self._ids))
        self._streams[stream] = _Scripted()
        return stream

    def push(self, stream: StreamId, samples: np.ndarray) -> None:
        s = self._streams[stream]
        if np.ndim(samples) != 1:
            raise ValueError(f"audio must be 1-D mono samples; got shape {np.shape(samples)}")
        if s.finished:
            raise BackendError("This stream is finished; start a new stream for more audio.")
        s.waiting += len(samples)

    def advance(self) -> None:
        for s in self._streams.values():
            self._run(s)

    def _run(self, s: _Scripted, pad: bool = False) -> None:
        step = self.capabilities.step_samples
        total = s.fed + s.waiting
        if pad:
            total = -(-total // step) * step
        for _ in range(total // step - s.fed // step):
            s.steps += 1
            if s.steps in self.pieces_at:
                s.out.append(self.pieces_at[s.steps])
        s.fed, s.waiting = s.fed + s.waiting, 0

    def take(self, stream: StreamId) -> Taken:
        s = self._streams[stream]
        out, s.out = s.out, []
        steps, s.reported = s.steps - s.reported, s.steps
        return Taken(out, steps)

    def finish(self, stream: StreamId) -> None:
        s = self._streams[stream]
        if not s.finished:
            self._run(s, pad=True)
            s.finished = True

    def close(self, stream: StreamId) -> None:
        del self._streams[stream]


class SlowBackend:
    """Another backend, but every advance takes ``factor`` times the audio it was pushed."""

    def __init__(self, inner: Backend, factor: float) -> None:
        self.inner, self.factor = inner, factor
        self.audio_seconds = 0.0  # everything pushed, all streams
        self._unpaid = 0.0

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities

    @property
    def status(self) -> BackendStatus:
        return self.inner.status

    def open(self, delay_ms: int) -> StreamId:
        return self.inner.open(delay_ms)

    def push(self, stream: StreamId, samples: np.ndarray) -> None:
        self.inner.push(stream, samples)
        seconds = len(samples) / 16000
        self.audio_seconds += seconds
        self._unpaid += seconds

    def advance(self) -> None:
        time.sleep(self.factor * self._unpaid)  # stands in for slow compute
        self._unpaid = 0.0
        self.inner.advance()

    def take(self, stream: StreamId) -> Taken:
        return self.inner.take(stream)

    def finish(self, stream: StreamId) -> None:
        self.inner.finish(stream)

    def close(self, stream: StreamId) -> None:
        self.inner.close(stream)
