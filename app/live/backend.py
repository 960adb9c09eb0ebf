"""The one seam between the live pipeline and a speech engine: the :class:`Backend` protocol.

The pipeline knows an engine only through this: it opens streams with a delay, pushes samples
into them, advances every stream that has audio (one batched step where the engine can), takes
each stream's timed text, finishes and closes streams, and reads what the backend can do and
whether it is well. Three engines fit behind it: the local PyTorch engine
(:mod:`app.live.local`), a vLLM realtime server and Mistral's realtime API (websockets).

Units: samples are float32, 16 kHz (``app.events.SAMPLE_RATE``), mono, in [-1, 1]. Times of
pieces are seconds of the *stream's* audio: 0 is the first sample pushed into that stream,
however the source's own clock ran (the lane maps them back). A step is
``Capabilities.step_samples`` samples of audio (1280 = 80 ms for Voxtral Realtime): the model
writes one token per step.

Errors: a backend raises :class:`BackendError` when it cannot go on (a wrong key, a model the
server does not serve, an engine that crashed); the pipeline reports its message and stops. A
passing fault (a dropped connection being retried) is not an exception: the backend's
``status`` says so and ``take`` reports the audio it lost as ``Taken.lost``, which the pipeline
turns into gaps.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import NewType, Protocol, runtime_checkable

import numpy as np

from app.events import Piece

StreamId = NewType("StreamId", int)  # one stream of one backend, from Backend.open


class BackendError(Exception):
    """The backend cannot go on; the message says what happened and what to do, for people."""


class BackendState(StrEnum):
    STARTING = "starting"  # connecting, or loading; audio pushed now is kept
    READY = "ready"
    RECONNECTING = "reconnecting"  # a connection dropped; audio meanwhile is lost (Taken.lost)
    FAILED = "failed"  # it will not come back; the next call raises BackendError


@dataclass(frozen=True)
class BackendStatus:
    state: BackendState
    message: str = ""  # why, for people, when not READY


READY = BackendStatus(BackendState.READY)  # the status of a backend with nothing to report


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do; the pipeline adapts to it rather than asking for more."""

    step_samples: int  # samples per model step (1280 = 80 ms at 16 kHz)
    # None: every stream takes the delay given to open(). A number: the server fixes the delay
    # for all streams (vLLM reads it from its checkpoint) and open() ignores the one asked for.
    fixed_delay_ms: int | None = None
    batched: bool = False  # advance() runs all streams' steps as one batch (one weight read)
    step_timing: bool = True  # pieces are placed on the audio per step, not guessed from audio sent


@dataclass(frozen=True)
class Taken:
    """What one stream produced since the last :meth:`Backend.take`."""

    pieces: list[Piece] = field(default_factory=list)  # in order; stream seconds
    steps: int = 0  # model steps completed (each one token; a step without text counts too)
    # (start, duration) in stream seconds of audio that was pushed but never transcribed
    lost: list[tuple[float, float]] = field(default_factory=list)


@runtime_checkable
class Backend(Protocol):
    """A speech engine as the live pipeline sees it. Called from one thread (the worker's).

    Streams are independent: one stream's text never depends on another's audio.
    """

    @property
    def capabilities(self) -> Capabilities:
        """Fixed for the backend's life (a plain attribute will do)."""
        ...

    @property
    def status(self) -> BackendStatus:
        """Whether the backend is working; cheap, read a few times a second."""
        ...

    def open(self, delay_ms: int) -> StreamId:
        """A new stream with ``delay_ms`` of delay (80 to 2400 in steps of 80).

        It joins the streams already open: a batched backend advances it in the same step as
        them. Raises ValueError for a delay the model cannot take, BackendError when the backend
        cannot open one.
        """
        ...

    def push(self, stream: StreamId, samples: np.ndarray) -> None:
        """Queue ``samples`` (float32, shape (n,), 16 kHz mono, in [-1, 1]) for ``stream``.

        Nothing is decoded until :meth:`advance`. Raises ValueError for a shape other than (n,),
        BackendError when the stream is finished or the backend failed.
        """
        ...

    def advance(self) -> None:
        """Decode every step whose audio has been pushed, for every open stream.

        A batched backend steps all streams that have a step ready as one batch. Returns when
        the queued audio is decoded (a remote backend: sent, and what has come back is read).
        Raises BackendError when the backend failed.
        """
        ...

    def take(self, stream: StreamId) -> Taken:
        """The text pieces, step count and lost audio of ``stream`` since the last take."""
        ...

    def finish(self, stream: StreamId) -> None:
        """No more audio for ``stream``: pad and decode the rest, release held text.

        Its last pieces are then in the next :meth:`take`. Finishing twice does nothing.
        """
        ...

    def close(self, stream: StreamId) -> None:
        """Forget ``stream`` and free what it held (its batch row, its connection)."""
        ...


__all__ = [
    "READY",
    "Backend",
    "BackendError",
    "BackendState",
    "BackendStatus",
    "Capabilities",
    "StreamId",
    "Taken",
]
