"""Against a real vLLM realtime server (one per test session, tiny checkpoint, CPU).

Marked ``vllm``: they need ``scripts/install-vllm.sh`` to have run. The server is started with
an API key, so every test also proves that the key travels as the server expects. The test
that stops the server is the last one in this file: it ends the session's server.
"""
from __future__ import annotations

import base64
import json
import threading

import numpy as np
import pytest
from websockets.sync.client import connect

from app.cli import main
from app.live.backend import BackendState
from app.live.remote_backend import vllm_backend
from app.live.remote_check import check_server
from tests.app.audio.conftest import speech_wav  # noqa: F401
from tests.app.remote.helpers import push_all, wait_until
from tests.app.remote.vllm_server import API_KEY, MODEL_NAME

pytestmark = pytest.mark.vllm


@pytest.fixture(scope="module")
def speech(speech_wav):  # noqa: F811
    from app.audio.load import FileBlocks

    with FileBlocks(speech_wav) as blocks:
        return np.concatenate(list(blocks))


def bare_client_text(url: str, audio: np.ndarray, key: str = API_KEY) -> str:
    """The protocol by hand, as vLLM's own example does it: the concatenated deltas."""
    pcm = np.round(np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
    deltas = []
    with connect(f"{url}/v1/realtime", additional_headers={"Authorization": f"Bearer {key}"},
                 open_timeout=30) as ws:
        assert json.loads(ws.recv(30))["type"] == "session.created"
        ws.send(json.dumps({"type": "session.update", "model": MODEL_NAME}))
        ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
        ws.send(json.dumps({"type": "input_audio_buffer.append",
                            "audio": base64.b64encode(pcm).decode()}))
        ws.send(json.dumps({"type": "input_audio_buffer.commit", "final": True}))
        while True:
            message = json.loads(ws.recv(120))
            if message["type"] == "transcription.done":
                return "".join(deltas)
            assert message["type"] == "transcription.delta", message
            deltas.append(message["delta"])


def test_voxcaps_text_equals_a_bare_clients_deltas(vllm_server, speech_wav, speech,  # noqa: F811
                                                     capsys, monkeypatch):
    bare = bare_client_text(vllm_server.url, speech)
    assert bare.strip(), "the tiny model writes something for speech"
    monkeypatch.setenv("VOXCAP_API_KEY", API_KEY)
    code = main(["transcribe", str(speech_wav), "--server", vllm_server.url, "--format", "json"])
    assert code == 0, capsys.readouterr().err
    data = json.loads(capsys.readouterr().out)
    assert "".join(p["text"] for p in data["pieces"]) == bare
    steps = [round(p["start"] / 0.08, 6) for p in data["pieces"]]
    assert steps == [round(s) for s in steps]  # every piece starts on an 80 ms step


def test_a_required_key_a_wrong_one_and_the_right_one(vllm_server):
    missing = check_server(vllm_server.url, MODEL_NAME, None)
    assert missing.reachable and missing.key_accepted is False
    assert missing.lines[-1] == "The server needs an API key: enter it and try again."
    wrong = check_server(vllm_server.url, MODEL_NAME, "not-the-key")
    assert wrong.lines[-1].startswith("API key refused")
    right = check_server(vllm_server.url, None, API_KEY)
    assert right.ok and right.model == MODEL_NAME
    assert right.delay_ms == 480  # the tiny checkpoint's tekken.json says 480
    unknown = check_server(vllm_server.url, "no-such-model", API_KEY)
    assert unknown.lines[-1] == f"Model 'no-such-model' not found; the server has: {MODEL_NAME}."


def test_two_streams_are_two_sessions_with_their_own_text(vllm_server, speech):
    wakeup = threading.Event()
    backend = vllm_backend(vllm_server.url, MODEL_NAME, API_KEY, max_lag_s=float("inf"),
                           wakeup=wakeup, finish_timeout_s=120)
    a, b = backend.open(480), backend.open(480)
    push_all(backend, a, speech)
    push_all(backend, b, np.zeros_like(speech))
    backend.finish(a)
    backend.finish(b)
    text_a = "".join(p.text for p in backend.take(a).pieces)
    assert text_a == bare_client_text(vllm_server.url, speech)
    assert "".join(p.text for p in backend.take(b).pieces) == bare_client_text(
        vllm_server.url, np.zeros_like(speech))


def test_zz_server_stopped_mid_session(vllm_server, speech):
    """Last: stops the session's server. Captions stop cleanly, the lost audio is a gap."""
    wakeup = threading.Event()
    backend = vllm_backend(vllm_server.url, MODEL_NAME, API_KEY, wakeup=wakeup)
    sid = backend.open(480)
    push_all(backend, sid, speech)
    got = []
    assert wait_until(lambda: got.extend(backend.take(sid).pieces) or bool(got), wakeup, 120)
    vllm_server.stop()
    assert wait_until(lambda: backend.status.state == BackendState.RECONNECTING, wakeup, 60)
    assert "cannot reach" in backend.status.message or "lost" in backend.status.message
    push_all(backend, sid, speech)  # captured while the server is away
    backend.finish(sid)
    taken = backend.take(sid)
    assert taken.lost and sum(d for _, d in taken.lost) > 0
    assert backend.status.state != BackendState.FAILED  # it would reconnect, not give up
    backend.close(sid)
