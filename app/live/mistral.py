"""A client of Mistral's hosted realtime transcription API: audio leaves this computer.

Opt-in only (the settings say so where it is chosen). The protocol
(``shared/spec/remote-engines.md``, the ``mistralai`` SDK's realtime client is the reference):
``wss://api.mistral.ai/v1/audio/transcriptions/realtime?model=MODEL`` with the key as a bearer
token; the client sends ``session.update`` with the audio format and the delay
(``target_streaming_delay_ms``, fixed once audio flows, so a new delay is a new session), then
``input_audio.append``, ``input_audio.flush`` (closes a segment) and ``input_audio.end``. The
server sends ``session.created``/``session.updated``, ``transcription.language``,
``transcription.segment``, ``transcription.text.delta {"text"}``, ``transcription.done`` and
``error {"error": {"message"}}``. Unlike vLLM's, its deltas are not one per 80 ms step, so they
carry no step count (``Delta.steps == 0``) and the caller times them by the audio sent.
"""
from __future__ import annotations

import os
import urllib.parse

import numpy as np
from websockets.exceptions import ConnectionClosed

from app.events import SAMPLE_RATE
from app.live.remote import (
    Delta,
    Done,
    JsonSocket,
    RemoteError,
    open_socket,
    parse_frame,
    pcm16_base64,
)

API_URL = "wss://api.mistral.ai/v1/audio/transcriptions/realtime"
URL_ENV = "VOXCAP_MISTRAL_URL"  # another endpoint speaking the same protocol (tests, proxies)
DEFAULT_MODEL = "voxtral-mini-transcribe-realtime-2602"
PRIVACY_NOTE = (
    "Audio is sent to Mistral AI's servers over the internet to be transcribed; "
    "it does not stay on this computer."
)


def api_url() -> str:
    return os.environ.get(URL_ENV) or API_URL


class MistralSession(JsonSocket):
    """One realtime session with Mistral's API, with the same calls as ``VllmSession``.

    A session carries one generation: :meth:`start_generation` is a no-op and a new
    generation (a new delay, after ``done``) needs a new session.
    """

    lost_message = "the connection to Mistral's API was lost"

    def __init__(self, key: str | None, model: str = DEFAULT_MODEL, delay_ms: int = 480,
                 url: str = API_URL, timeout: float = 10.0) -> None:
        if not key:
            raise RemoteError("auth", "Mistral's API needs an API key; enter yours in "
                              "Settings > Engine or set VOXCAP_API_KEY")
        self.url = f"{url}?{urllib.parse.urlencode({'model': model})}"
        self.model = model
        self.delay_ms = delay_ms
        self._key = key
        self._timeout = timeout
        self._ws = None

    def open(self) -> None:
        """Connect and send the audio format and delay; RemoteError on failure."""
        self._ws = open_socket(self.url, self._key, self._timeout)
        self._send({
            "type": "session.update",
            "session": {
                "audio_format": {"encoding": "pcm_s16le", "sample_rate": SAMPLE_RATE},
                "target_streaming_delay_ms": self.delay_ms,
            },
        })

    def start_generation(self) -> None:
        """Nothing to send: a Mistral session is one generation."""

    def send_audio(self, samples: np.ndarray) -> None:
        if len(samples):
            self._send({"type": "input_audio.append", "audio": pcm16_base64(samples)})

    def flush(self) -> None:
        """Close the current segment so its last words come out; the session goes on."""
        self._send({"type": "input_audio.flush"})

    def end_audio(self) -> None:
        self._send({"type": "input_audio.end"})

    def receive(self, timeout: float | None = None) -> Delta | Done | None:
        """The next text delta or done; None after ``timeout`` seconds; RemoteError otherwise."""
        while True:
            try:
                frame = self._ws.recv(timeout)
            except TimeoutError:
                return None
            except ConnectionClosed:
                raise RemoteError("dropped", "the connection to Mistral's API was lost") from None
            message = parse_frame(frame)
            kind = message["type"]
            if kind == "transcription.text.delta":
                return Delta(_string(message.get("text")), steps=0)
            if kind == "transcription.done":
                return Done(_string(message.get("text")))
            if kind == "error":
                raise _error(message)
            # session.created/updated, transcription.language/segment: nothing to act on



def _string(value: object) -> str:
    if not isinstance(value, str):
        raise RemoteError("protocol", "Mistral's API sent a transcription message without text")
    return value


def _error(message: dict) -> RemoteError:
    error = message.get("error")
    detail = error.get("message") if isinstance(error, dict) else error
    text = str(detail or "no details").rstrip(".")
    lowered = text.lower()
    if "model" in lowered and ("not found" in lowered or "invalid" in lowered):
        return RemoteError("model", f"Mistral's API does not know that model ({text})")
    if "unauthorized" in lowered or "api key" in lowered:
        return RemoteError("auth", f"Mistral's API refused the key ({text}); check your key")
    return RemoteError("server", f"Mistral's API reported an error: {text}")
