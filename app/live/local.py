"""The local backend: the PyTorch engine in this process, every stream a row of one batch.

All streams live in one :class:`engine.StreamGroup`, so a stream opened while others run joins
their batch and one read of the weights serves every source per step. Importing this module
does not load torch; the model handed in already did.
"""
from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np

from app.events import Piece
from app.live.backend import READY, BackendError, Capabilities, StreamId, Taken
from engine.errors import EngineError

if TYPE_CHECKING:
    from engine.group import Stream
    from engine.model import Model


class LocalBackend:
    """:class:`app.live.backend.Backend` over a loaded :class:`engine.Model`."""

    status = READY  # a loaded model has nothing to wait for

    def __init__(self, model: Model) -> None:
        self.model = model
        self._group = model.group()
        self._streams: dict[StreamId, Stream] = {}
        self._held: dict[StreamId, list] = {}  # pieces finish() returned, for the next take
        self._seen: dict[StreamId, int] = {}  # steps already reported by take
        self._ids = itertools.count(1)
        self.capabilities = Capabilities(step_samples=model.parts.step_samples, batched=True)

    def open(self, delay_ms: int) -> StreamId:
        stream_id = StreamId(next(self._ids))
        self._streams[stream_id] = self._group.open(delay_ms)
        self._held[stream_id], self._seen[stream_id] = [], 0
        return stream_id

    def push(self, stream: StreamId, samples: np.ndarray) -> None:
        try:
            self._streams[stream].push(samples)
        except EngineError as exc:
            raise BackendError(str(exc)) from exc

    def advance(self) -> None:
        self._group.step()

    def take(self, stream: StreamId) -> Taken:
        s = self._streams[stream]
        pieces = self._held[stream] + s.take()
        self._held[stream] = []
        steps, self._seen[stream] = s.token_count - self._seen[stream], s.token_count
        return Taken([Piece(p.text, p.start, p.end) for p in pieces], steps)

    def finish(self, stream: StreamId) -> None:
        self._held[stream] += self._streams[stream].finish()

    def close(self, stream: StreamId) -> None:
        self._group.close(self._streams.pop(stream))
        del self._held[stream], self._seen[stream]
