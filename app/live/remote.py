"""What the two remote engines share: audio on the wire, the websocket, plain errors.

A remote engine is a websocket server that turns 16 kHz audio into text: a vLLM server
(``app/live/vllm.py``) or Mistral's hosted realtime API (``app/live/mistral.py``); both are
described in ``shared/spec/remote-engines.md``. This module knows neither protocol's messages,
only what both need: float32 audio as base64 PCM s16le, a connection opened with the API key in
an ``Authorization`` header (never in the address, never in a message or a log line), and one
exception type whose text a person can act on.
"""
from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

import numpy as np
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.sync.client import ClientConnection, connect

from app.events import SAMPLE_RATE
from app.live.backend import BackendError

STEP_SAMPLES = 1280  # one decoder step of audio (80 ms): one vLLM delta each
STEP_S = STEP_SAMPLES / SAMPLE_RATE
CONNECT_TIMEOUT_S = 10.0
MAX_FRAME_BYTES = 4 * 2**20  # a frame larger than this is not the protocol


class RemoteError(BackendError):
    """A remote engine failed in a way the user can act on; ``str()`` says what and what to do.

    ``kind`` sorts the causes for callers that react differently: ``"address"`` (the URL is not
    usable), ``"unreachable"``, ``"auth"`` (key missing or refused), ``"model"`` (no such model),
    ``"protocol"`` (the server sent something that is not the protocol), ``"server"`` (the
    server reported an error), ``"dropped"`` (the connection ended mid-session).
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Delta:
    """Text from the server; ``steps`` is how many 80 ms decoder steps it stands for."""

    text: str
    steps: int = 1


@dataclass(frozen=True)
class Done:
    """The end of one generation, asked for or not (the server's length limit)."""

    text: str
    prompt_tokens: int | None = None  # vLLM's usage: the streaming prompt, which holds the delay


class JsonSocket:
    """What both realtime clients share: JSON text frames over one websocket (``_ws``)."""

    lost_message = "the connection to the server was lost"
    _ws: ClientConnection | None = None

    def close(self) -> None:
        if self._ws is not None:
            self._ws.close()

    def _send(self, message: dict) -> None:
        """RemoteError "dropped" when the socket has closed."""
        try:
            self._ws.send(json.dumps(message))
        except ConnectionClosed:
            raise RemoteError("dropped", self.lost_message) from None


def pcm16_base64(samples: np.ndarray) -> str:
    """float32 samples in [-1, 1], shape (n,) -> base64 of PCM s16le (clipped, rounded)."""
    x = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    return base64.b64encode(np.round(x * 32767.0).astype("<i2").tobytes()).decode("ascii")


def auth_headers(key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if key else {}


def open_socket(url: str, key: str | None, timeout: float = CONNECT_TIMEOUT_S) -> ClientConnection:
    """A websocket to ``url``; RemoteError (never the key) when it cannot be opened."""
    try:
        return connect(
            url,
            additional_headers=auth_headers(key),
            open_timeout=timeout,
            close_timeout=2.0,
            max_size=MAX_FRAME_BYTES,
            proxy=None,  # a desktop's proxy settings must not carry audio elsewhere
            legacy=True,  # the connection itself: the stream's thread owns and closes it
        )
    except InvalidURI:
        raise RemoteError("address", f"{url} is not a websocket address; "
                          "use one like ws://HOST:8000") from None
    except InvalidStatus as exc:
        raise _status_error(url, exc.response.status_code) from None
    except (OSError, TimeoutError, InvalidHandshake) as exc:
        raise RemoteError("unreachable", f"cannot reach {_host(url)} ({_reason(exc)}); check the "
                          "address and that the server is running") from None


def _status_error(url: str, status: int) -> RemoteError:
    if status in (401, 403):
        return RemoteError("auth", f"{_host(url)} refused the API key (HTTP {status}); "
                           "enter the key the server was started with")
    if status == 404:
        return RemoteError("address", f"{url} has no realtime endpoint (HTTP 404); "
                           "check the address and that the server runs a realtime model")
    return RemoteError("unreachable", f"{_host(url)} answered HTTP {status} instead of opening "
                       "a session; check the address")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text.rstrip(".")


def _host(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return parts.netloc.rsplit("@", 1)[-1] or url


def parse_frame(frame: str | bytes) -> dict:
    """One server frame as a JSON object with a string ``type``; RemoteError otherwise."""
    if isinstance(frame, bytes):
        raise RemoteError("protocol", "the server sent binary data instead of protocol "
                          "messages; check that the address is a realtime endpoint")
    try:
        message = json.loads(frame)
    except ValueError:
        message = None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise RemoteError("protocol", "the server sent a message that is not the realtime "
                          "protocol; check that the address is a realtime endpoint")
    return message


def http_url(ws_url: str, path: str) -> str:
    """``ws://h:p/v1/realtime`` + ``/v1/models`` -> ``http://h:p/v1/models`` (wss -> https)."""
    parts = urllib.parse.urlsplit(ws_url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return urllib.parse.urlunsplit((scheme, parts.netloc, path, "", ""))


def get_json(url: str, key: str | None, timeout: float = CONNECT_TIMEOUT_S) -> dict:
    """GET ``url`` as JSON with the key as a bearer token; RemoteError on any failure."""
    request = urllib.request.Request(url, headers=auth_headers(key))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            data = json.loads(response.read(MAX_FRAME_BYTES))
    except urllib.error.HTTPError as exc:
        raise _status_error(url, exc.code) from None
    except (OSError, TimeoutError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise RemoteError("unreachable", f"cannot reach {_host(url)} "
                          f"({_reason(reason) if isinstance(reason, BaseException) else reason});"
                          " check the address and that the server is running") from None
    except ValueError:
        raise RemoteError("protocol", f"{url} did not answer with JSON; check the address") from None
    if not isinstance(data, dict):
        raise RemoteError("protocol", f"{url} did not answer with a JSON object")
    return data
