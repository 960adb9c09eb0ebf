"""A remote engine behind the pipeline's :class:`~app.live.backend.Backend` protocol.

Each stream the pipeline opens is one :class:`~app.live.remote_stream.RemoteStream`: its own
websocket session (two sources are two server sessions), its own sender and receiver threads.
So ``push`` and ``advance`` never wait on the network: audio is queued for the stream's sender,
and what the server answered is read by ``take``. Only ``finish`` waits, a bounded time, for the
last words. The backend's status is its streams' worst: failed, reconnecting, starting, ready.

:func:`vllm_backend` and :func:`mistral_backend` build one for each service.
"""
from __future__ import annotations

import itertools
import threading
from collections.abc import Callable

import numpy as np

from app.live.backend import (
    READY,
    BackendError,
    BackendState,
    BackendStatus,
    Capabilities,
    StreamId,
    Taken,
)
from app.live.remote import STEP_SAMPLES
from app.live.remote_stream import RemoteStream, Session
from engine.delay import check_delay

FINISH_TIMEOUT_S = 30.0  # longest wait for a server's last words when a stream ends
ADVANCE_WAIT_S = 1.0  # longest wait in advance() for a stream's answers (a step's compute)
_WORST_FIRST = ("error", "reconnecting", "connecting")
_STATES = {"error": BackendState.FAILED, "reconnecting": BackendState.RECONNECTING,
           "connecting": BackendState.STARTING}


class RemoteBackend:
    """Streams on a server. ``session_for(delay_ms)`` makes an unopened session per stream."""

    def __init__(self, session_for: Callable[[int], Session], *, fixed_delay_ms: int | None,
                 step_timing: bool, max_lag_s: float = 4.0,
                 wakeup: threading.Event | None = None, one_generation_per_session: bool = False,
                 finish_timeout_s: float = FINISH_TIMEOUT_S) -> None:
        self._session_for = session_for
        self.capabilities = Capabilities(STEP_SAMPLES, fixed_delay_ms, False, step_timing)
        self._max_lag_s = max_lag_s
        self._wakeup = wakeup
        self._one_per_session = one_generation_per_session
        self._finish_timeout_s = finish_timeout_s
        self._streams: dict[StreamId, RemoteStream] = {}
        self._ids = itertools.count(1)

    @property
    def status(self) -> BackendStatus:
        streams = list(self._streams.values())
        for state in _WORST_FIRST:
            for stream in streams:
                if stream.state == state:
                    return BackendStatus(_STATES[state], stream.error)
        return READY

    def open(self, delay_ms: int) -> StreamId:
        check_delay(delay_ms)
        delay = self.capabilities.fixed_delay_ms or delay_ms
        stream = RemoteStream(
            lambda: self._session_for(delay), delay_s=delay / 1000, max_lag_s=self._max_lag_s,
            wakeup=self._wakeup, new_session_per_generation=self._one_per_session,
        )
        sid = StreamId(next(self._ids))
        self._streams[sid] = stream
        return sid

    def push(self, stream: StreamId, samples: np.ndarray) -> None:
        s = self._live(stream)
        try:
            s.append(samples)
        except RuntimeError as exc:
            raise BackendError(str(exc)) from None

    def advance(self) -> None:
        """Wait (bounded) until each stream's audio is answered, as a local step would take
        its compute time: a slow server then shows as lag and real-time factor, and audio
        waits in the pipeline, where the lag bound skips it as for the local engine."""
        for stream in self._streams.values():
            if stream.state == "error":
                raise BackendError(stream.error)
            if self.capabilities.step_timing and not stream.finished:
                stream.wait_answered(ADVANCE_WAIT_S)

    def take(self, stream: StreamId) -> Taken:
        s = self._streams[stream]
        lost = [(t, d) for t, d, _reason in s.take_gaps()]
        return Taken(s.take_output(), s.take_steps(), lost)

    def finish(self, stream: StreamId) -> None:
        s = self._streams[stream]
        if s.finished:
            return
        s.finish(self._finish_timeout_s)

    def close(self, stream: StreamId) -> None:
        s = self._streams.pop(stream, None)
        if s is not None:
            s.close()

    def lag_seconds(self, stream: StreamId) -> float:
        """Audio pushed into ``stream`` that the server has not answered, seconds."""
        return self._streams[stream].lag_seconds

    def _live(self, stream: StreamId) -> RemoteStream:
        s = self._streams[stream]
        if s.state == "error":
            raise BackendError(s.error)
        return s


def vllm_backend(address: str, model: str, key: str | None, *, delay_ms: int | None = None,
                 max_lag_s: float = 4.0, wakeup: threading.Event | None = None,
                 finish_timeout_s: float = FINISH_TIMEOUT_S) -> RemoteBackend:
    """Streams on a vLLM server. ``delay_ms``: the server's, when known (``probe_delay``)."""
    from app.live.vllm import VllmSession

    return RemoteBackend(
        lambda _delay: VllmSession(address, model, key), fixed_delay_ms=delay_ms,
        step_timing=True, max_lag_s=max_lag_s, wakeup=wakeup, finish_timeout_s=finish_timeout_s,
    )


def mistral_backend(key: str | None, model: str | None = None, *, url: str | None = None,
                    max_lag_s: float = 4.0, wakeup: threading.Event | None = None,
                    finish_timeout_s: float = FINISH_TIMEOUT_S) -> RemoteBackend:
    """Streams on Mistral's API; each stream's delay is its own (a new delay: a new stream)."""
    from app.live import mistral

    def session(delay_ms: int) -> Session:
        return mistral.MistralSession(key, model or mistral.DEFAULT_MODEL, delay_ms,
                                      url or mistral.api_url())

    if not key:
        session(480)  # raises the plain "needs an API key" error now, not on a thread
    return RemoteBackend(session, fixed_delay_ms=None, step_timing=False, max_lag_s=max_lag_s,
                         wakeup=wakeup, one_generation_per_session=True,
                         finish_timeout_s=finish_timeout_s)


def connect_engine(engine, *, max_lag_s: float = 4.0, wakeup: threading.Event | None = None,
                   finish_timeout_s: float = FINISH_TIMEOUT_S) -> RemoteBackend:
    """The remote backend that engine settings (``app.settings.EngineSettings``: kind vllm or
    mistral) ask for, checked before any audio flows. Blocking (network): not on the GUI thread.

    A vLLM server is checked as ``voxcap server check`` does (reachable, key, model, its
    delay). Raises RemoteError with the finding a person needs (kind ``"unreachable"``,
    ``"auth"``, ``"model"``, ``"address"``).
    """
    from app.live import remote_keys
    from app.live.remote import RemoteError

    if engine.kind == "mistral":
        key = remote_keys.resolve_key(remote_keys.MISTRAL)
        return mistral_backend(key, engine.mistral_model, max_lag_s=max_lag_s, wakeup=wakeup,
                               finish_timeout_s=finish_timeout_s)
    if not engine.server_url:
        raise RemoteError("address", "no server address: pass --server URL, or choose a "
                          "server in Settings > Engine")
    from app.live.remote_check import check_server

    key = remote_keys.resolve_key(remote_keys.account("vllm", engine.server_url))
    result = check_server(engine.server_url, engine.server_model or None, key)
    if not result.ok:
        kind = ("unreachable" if not result.reachable else "auth"
                if result.key_accepted is False else "model")
        raise RemoteError(kind, f"{result.address}: {result.lines[-1]}")
    return vllm_backend(engine.server_url, result.model, key, delay_ms=result.delay_ms,
                        max_lag_s=max_lag_s, wakeup=wakeup, finish_timeout_s=finish_timeout_s)
