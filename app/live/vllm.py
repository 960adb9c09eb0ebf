"""A client of vLLM's realtime endpoint (``ws://HOST:PORT/v1/realtime``), one socket per source.

The protocol (``shared/spec/remote-engines.md``): the server greets with ``session.created``; the
client names the model with a flat ``session.update`` (no acknowledgement), starts a generation
with ``input_audio_buffer.commit``, sends base64 PCM s16le 16 kHz with
``input_audio_buffer.append``, and ends the audio with a commit carrying ``"final": true``. The
server answers one ``transcription.delta`` per 80 ms decoder step (most of them ``""``) and
``transcription.done`` when a generation ends: asked for, or at its ``max_model_len``. Errors are
``{"type": "error", "error": MESSAGE, "code": CODE}``; a wrong key fails the handshake (401).

The delay is the server's (``tekken.json``), not the session's: a client cannot change it.
"""
from __future__ import annotations

import numpy as np
from websockets.exceptions import ConnectionClosed

from app.events import SAMPLE_RATE
from app.live.remote import (
    Delta,
    Done,
    JsonSocket,
    RemoteError,
    get_json,
    http_url,
    open_socket,
    parse_frame,
    pcm16_base64,
)

REALTIME_PATH = "/v1/realtime"
# The streaming prompt is BOS, the left padding, then one pad per 80 ms of delay (seen: 39
# tokens at 480 ms, 45 at 960 ms), so a generation's prompt size tells the server's delay.
PROMPT_TOKENS_WITHOUT_DELAY = 1 + 32
PROBE_SECONDS = 0.25  # silence sent to learn the delay: the shortest useful generation

_ERRORS = {  # server code -> (kind, what the user reads)
    "model_not_found": ("model", ("the server has no model named {model!r}; "
                        "choose one of the models it serves")),
    "model_not_validated": ("protocol", "the server was sent audio before the model was chosen"),
    "invalid_audio": ("protocol", "the server could not read the audio sent to it"),
    "processing_error": ("server", ("the server failed while transcribing ({error}); "
                         "captions resume when it recovers")),
}


def realtime_url(address: str) -> str:
    """``ws://gpu-box:8000`` or ``http://gpu-box:8000/`` -> ``ws://gpu-box:8000/v1/realtime``."""
    address = address.strip().rstrip("/")
    if "://" not in address:
        address = "ws://" + address
    scheme, rest = address.split("://", 1)
    scheme = {"http": "ws", "https": "wss"}.get(scheme.lower(), scheme.lower())
    if not rest.endswith(REALTIME_PATH):
        rest += REALTIME_PATH
    return f"{scheme}://{rest}"


def served_models(address: str, key: str | None, timeout: float = 10.0) -> list[str]:
    """The model names ``GET /v1/models`` lists; RemoteError when the server does not answer."""
    data = get_json(http_url(realtime_url(address), "/v1/models"), key, timeout)
    entries = data.get("data")
    if not isinstance(entries, list):
        raise RemoteError("protocol", "the server's model list is not in the OpenAI format; "
                          "check that the address is a vLLM server")
    return [e["id"] for e in entries if isinstance(e, dict) and isinstance(e.get("id"), str)]


class VllmSession(JsonSocket):
    """One websocket to a vLLM realtime endpoint, carrying generation after generation.

    ``send_*`` may be called from one thread while another blocks in :meth:`receive`
    (the websockets threading client allows one sender and one receiver at a time).
    Errors are :class:`RemoteError`; the key never appears in them.
    """

    def __init__(self, address: str, model: str, key: str | None = None,
                 timeout: float = 10.0) -> None:
        self.url = realtime_url(address)
        self.model = model
        self._key = key
        self._timeout = timeout
        self._ws = None

    def open(self) -> None:
        """Connect, wait for ``session.created``, name the model; RemoteError on failure."""
        self._ws = open_socket(self.url, self._key, self._timeout)
        try:
            first = self._next(self._timeout)
        except RemoteError:
            self.close()
            raise
        if first.get("type") != "session.created":
            self.close()
            raise RemoteError("protocol", f"the server opened with {first.get('type')!r} instead "
                              "of session.created; check that it is a vLLM realtime endpoint")
        self._send({"type": "session.update", "model": self.model})

    def start_generation(self) -> None:
        self._send({"type": "input_audio_buffer.commit"})

    def send_audio(self, samples: np.ndarray) -> None:
        """float32 16 kHz mono samples, shape (n,)."""
        if len(samples):
            self._send({"type": "input_audio_buffer.append", "audio": pcm16_base64(samples)})

    def end_audio(self) -> None:
        """No more audio in this generation: the server pads, drains and sends ``done``."""
        self._send({"type": "input_audio_buffer.commit", "final": True})

    def receive(self, timeout: float | None = None) -> Delta | Done | None:
        """The next delta or done; None after ``timeout`` seconds without one.

        Raises RemoteError for an error message, a frame that is not the protocol, or a
        connection that ended (kind ``"dropped"``).
        """
        while True:
            message = self._next(timeout)
            if message is None:
                return None
            kind = message["type"]
            if kind == "transcription.delta":
                return Delta(_text(message, "delta"))
            if kind == "transcription.done":
                usage = message.get("usage")
                prompt = usage.get("prompt_tokens") if isinstance(usage, dict) else None
                return Done(_text(message, "text"), prompt if isinstance(prompt, int) else None)
            if kind == "error":
                raise self._error(message)
            # session.created again, or events added in later versions: nothing to act on

    def _next(self, timeout: float | None) -> dict | None:
        try:
            frame = self._ws.recv(timeout)
        except TimeoutError:
            return None
        except ConnectionClosed as exc:
            raise _closed(exc) from None
        return parse_frame(frame)

    def _error(self, message: dict) -> RemoteError:
        code = str(message.get("code") or "")
        error = str(message.get("error") or "no details")
        kind, text = _ERRORS.get(code, ("server", "the server reported an error: {error}"))
        return RemoteError(kind, text.format(model=self.model, error=error.rstrip(".")))


def _text(message: dict, field: str) -> str:
    value = message.get(field, "")
    if not isinstance(value, str):
        raise RemoteError("protocol", f"the server sent a {message['type']} without text")
    return value


def _closed(exc: ConnectionClosed) -> RemoteError:
    code = exc.rcvd.code if exc.rcvd is not None else None
    if code == 1012:
        return RemoteError("dropped", "the server restarted its engine; reconnecting")
    return RemoteError("dropped", "the connection to the server was lost")


def delay_from_prompt(prompt_tokens: int) -> int | None:
    """The server's delay in ms from a generation's prompt size; None when it does not fit."""
    steps = prompt_tokens - PROMPT_TOKENS_WITHOUT_DELAY
    return steps * 80 if 1 <= steps <= 30 else None


def probe_delay(address: str, model: str, key: str | None, timeout: float = 30.0) -> int | None:
    """The delay a vLLM server uses, learnt from one short generation of silence (ms).

    None when the server does not say (no usage in its ``done``). RemoteError when the session
    fails: unreachable, key refused, no such model.
    """
    session = VllmSession(address, model, key, timeout=min(timeout, 10.0))
    session.open()
    try:
        session.start_generation()
        session.send_audio(np.zeros(round(PROBE_SECONDS * SAMPLE_RATE), np.float32))
        session.end_audio()
        while True:
            event = session.receive(timeout)
            if event is None:
                raise RemoteError("unreachable", f"the server did not answer in {timeout:.0f} s; "
                                  "it may be overloaded")
            if isinstance(event, Done):
                return delay_from_prompt(event.prompt_tokens) if event.prompt_tokens else None
    finally:
        session.close()
