"""A local websocket server that speaks vLLM's realtime protocol, or Mistral's, with faults on call.

For what a real server cannot be made to do on demand: drop the connection, end a generation
unasked, report ``processing_error``, send frames that are not the protocol, answer slowly
(deltas held until a test releases them), and all of Mistral's messages (these machines cannot
reach Mistral). Deltas are deterministic: step k of a generation answers ``f"w{k} "`` when
``k % 5 == 4`` and ``""`` otherwise; a final commit pads ``DELAY_STEPS`` more steps, then done.
"""
from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from typing import Self

from websockets.datastructures import Headers
from websockets.http11 import Response
from websockets.sync.server import ServerConnection, serve

STEP_BYTES = 1280 * 2  # one 80 ms step of PCM s16le
DELAY_STEPS = 6
USAGE = {"prompt_tokens": 33 + DELAY_STEPS}  # BOS, 32 left pads, the delay (as vLLM)


def word(k: int) -> str:
    return f"w{k} " if k % 5 == 4 else ""


@dataclass
class Faults:
    """What the server does wrong; each applies to the first connection that reaches it."""

    drop_at_step: int | None = None  # close the TCP connection without a close frame
    done_at_step: int | None = None  # send an unasked transcription.done (length limit)
    error_at_step: int | None = None  # processing_error, then close code 1012
    garbage_at_step: int | None = None  # a frame that is not JSON
    refuse_connections: int = 0  # this many connection attempts fail with HTTP 503
    gate: threading.Event | None = None  # deltas wait until this is set (a slow server)
    used: set[str] = field(default_factory=set)

    def fire(self, name: str, step: int) -> bool:
        if getattr(self, name) == step and name not in self.used:
            self.used.add(name)
            return True
        return False


class FakeServer:
    """``with FakeServer(...) as server:`` serves on 127.0.0.1:``server.port``."""

    def __init__(self, *, flavour: str = "vllm", models: tuple[str, ...] = ("tiny",),
                 api_key: str | None = None, faults: Faults | None = None) -> None:
        self.flavour = flavour
        self.models = models
        self.api_key = api_key
        self.faults = faults or Faults()
        self.connections = 0
        self.received: list[dict] = []  # every client message, audio bytes decoded
        self.audio = bytearray()  # all PCM received, across connections
        self.session_updates: list[dict] = []
        self.seen_headers: list[str] = []
        self._server = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self._server = serve(self._handle, "127.0.0.1", 0, process_request=self._check)
        self.port = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._thread.join(5)

    def _check(self, connection: ServerConnection, request):
        self.connections += 1
        self.seen_headers.append(request.headers.get("Authorization", ""))
        if self.faults.refuse_connections > 0:
            self.faults.refuse_connections -= 1
            return _response(503)
        if self.api_key and request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _response(401)
        if self.flavour == "vllm" and request.path == "/v1/models":
            models = [{"id": m, "object": "model"} for m in self.models]
            return _response(200, json.dumps({"object": "list", "data": models}).encode())
        if self.flavour == "vllm" and not request.path.startswith("/v1/realtime"):
            return _response(404)
        return None

    def _handle(self, ws: ServerConnection) -> None:
        if self.flavour == "mistral":
            _MistralSession(self, ws).run()
        else:
            _VllmSession(self, ws).run()


def _response(status: int, body: bytes = b"") -> Response:
    headers = Headers([("Content-Length", str(len(body))), ("Content-Type", "application/json")])
    return Response(status, "OK" if status == 200 else "error", headers, body)


class _VllmSession:
    def __init__(self, server: FakeServer, ws: ServerConnection) -> None:
        self.server, self.ws, self.f = server, ws, server.faults
        self.model: str | None = None
        self.active = False
        self.steps = 0
        self.pending = bytearray()

    def run(self) -> None:
        self.ws.send(json.dumps({"type": "session.created", "id": "sess-1", "created": 0}))
        for frame in self.ws:
            message = json.loads(frame)
            self.server.received.append(message)
            if not self.on(message):
                return

    def on(self, message: dict) -> bool:
        kind = message.get("type")
        if kind == "session.update":
            if message.get("model") not in self.server.models:
                return self.error("model_not_found", f"model {message.get('model')} not found")
            self.model = message["model"]
        elif kind == "input_audio_buffer.commit":
            if self.model is None:
                return self.error("model_not_validated", "session.update first")
            if message.get("final"):
                return self.finish()
            self.active, self.steps, self.pending = True, 0, bytearray()
        elif kind == "input_audio_buffer.append":
            data = base64.b64decode(message["audio"])
            self.server.audio += data
            if self.active:
                self.pending += data
                return self.decode()
        else:
            return self.error("unknown_event", f"unknown event {kind}")
        return True

    def decode(self) -> bool:
        while len(self.pending) >= STEP_BYTES and self.active:
            del self.pending[:STEP_BYTES]
            if not self.step():
                return False
        return True

    def step(self) -> bool:
        f, k = self.f, self.steps
        if f.gate is not None:
            f.gate.wait()
        if f.fire("drop_at_step", k):
            self.ws.socket.close()  # no close frame: what a crashed host looks like
            return False
        if f.fire("error_at_step", k):
            self.error("processing_error", "engine crashed")
            self.ws.close(1012)
            return False
        if f.fire("garbage_at_step", k):
            self.ws.send("<html>proxy error</html>")
        if f.fire("done_at_step", k):
            self.active = False  # audio after this is dropped until the next commit
            self.ws.send(json.dumps({"type": "transcription.done", "text": "", "usage": USAGE}))
            return True
        self.ws.send(json.dumps({"type": "transcription.delta", "delta": word(k)}))
        self.steps += 1
        return True

    def finish(self) -> bool:
        if self.pending:
            self.pending += bytes(STEP_BYTES - len(self.pending) % STEP_BYTES)
        self.pending += bytes(DELAY_STEPS * STEP_BYTES)
        if not self.decode():
            return False
        self.active = False
        self.ws.send(json.dumps({"type": "transcription.done", "text": "", "usage": USAGE}))
        return True

    def error(self, code: str, text: str) -> bool:
        self.ws.send(json.dumps({"type": "error", "error": text, "code": code}))
        return True


class _MistralSession:
    """Mistral's message set: deltas every 5 steps of audio, segments, language, done."""

    def __init__(self, server: FakeServer, ws: ServerConnection) -> None:
        self.server, self.ws = server, ws
        self.steps = 0
        self.pending = bytearray()

    def run(self) -> None:
        self.send({"type": "session.created", "session": {"id": "m-1"}})
        for frame in self.ws:
            message = json.loads(frame)
            self.server.received.append(message)
            kind = message.get("type")
            if kind == "session.update":
                self.server.session_updates.append(message)
                self.send({"type": "session.updated", "session": message.get("session", {})})
            elif kind == "input_audio.append":
                data = base64.b64decode(message["audio"])
                self.server.audio += data
                self.pending += data
                self.decode()
            elif kind == "input_audio.flush":
                self.send({"type": "transcription.segment", "text": "", "start": 0.0, "end": 0.0})
            elif kind == "input_audio.end":
                self.pending += bytes(DELAY_STEPS * STEP_BYTES)
                self.decode()
                self.send({"type": "transcription.done", "text": "", "usage": USAGE})
            else:
                self.send({"type": "error", "error": {"message": f"unknown event {kind}",
                                                       "code": 3001}})

    def decode(self) -> None:
        while len(self.pending) >= STEP_BYTES:
            del self.pending[:STEP_BYTES]
            if self.steps == 0:
                self.send({"type": "transcription.language", "audio_language": "en"})
            if word(self.steps):
                self.send({"type": "transcription.text.delta", "text": word(self.steps)})
            self.steps += 1

    def send(self, message: dict) -> None:
        self.ws.send(json.dumps(message))
