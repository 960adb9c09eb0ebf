"""The Mistral realtime client against a local server speaking Mistral's whole message set."""
from __future__ import annotations

import threading

import pytest

from app.live.backend import BackendState
from app.live.mistral import MistralSession
from app.live.remote import RemoteError
from app.live.remote_backend import mistral_backend
from tests.app.remote.fake_server import DELAY_STEPS, FakeServer, word
from tests.app.remote.helpers import noise, push_all, wait_until


@pytest.fixture
def fake_mistral():
    with FakeServer(flavour="mistral", api_key="m-key") as server:
        yield server


def backend_for(server: FakeServer, key: str | None = "m-key"):
    wakeup = threading.Event()
    url = f"{server.url}/v1/audio/transcriptions/realtime"
    return mistral_backend(key, "voxtral-test", url=url, wakeup=wakeup), wakeup


def test_session_update_carries_the_audio_format_and_the_streams_delay(fake_mistral):
    backend, _ = backend_for(fake_mistral)
    assert backend.capabilities.fixed_delay_ms is None  # the delay is per session here
    assert backend.capabilities.step_timing is False
    sid = backend.open(960)
    push_all(backend, sid, noise(2.0))
    backend.finish(sid)
    update = fake_mistral.session_updates[0]
    assert update["session"] == {
        "audio_format": {"encoding": "pcm_s16le", "sample_rate": 16000},
        "target_streaming_delay_ms": 960,
    }
    kinds = [m["type"] for m in fake_mistral.received]
    assert kinds[0] == "session.update" and kinds[-1] == "input_audio.end"
    assert set(kinds[1:-1]) == {"input_audio.append"}
    taken = backend.take(sid)
    assert "".join(p.text for p in taken.pieces) == "".join(word(k) for k in range(25 + DELAY_STEPS))
    starts = [p.start for p in taken.pieces]
    assert starts == sorted(starts) and all(p.end >= p.start for p in taken.pieces)
    assert taken.pieces[-1].end <= 2.0  # timed by the audio sent, less the delay


def test_a_missing_key_is_refused_before_any_connection(fake_mistral):
    with pytest.raises(RemoteError, match="needs an API key"):
        backend_for(fake_mistral, key=None)
    assert fake_mistral.connections == 0


def test_a_wrong_key_fails_plainly(fake_mistral):
    backend, wakeup = backend_for(fake_mistral, key="bad-key")
    backend.open(480)
    assert wait_until(lambda: backend.status.state == BackendState.FAILED, wakeup)
    assert "refused the API key" in backend.status.message
    assert "bad-key" not in backend.status.message


def test_an_error_message_reads_plainly(fake_mistral):
    session = MistralSession("m-key", url=f"{fake_mistral.url}/rt")
    session.open()
    session._send({"type": "no.such.event"})
    with pytest.raises(RemoteError, match="Mistral's API reported an error: unknown event"):
        while True:
            session.receive(5)
    session.close()


def test_the_key_goes_in_the_header_and_nowhere_else(fake_mistral):
    backend, _ = backend_for(fake_mistral)
    sid = backend.open(480)
    push_all(backend, sid, noise(0.5))
    backend.finish(sid)
    assert fake_mistral.seen_headers == ["Bearer m-key"]
    assert all("m-key" not in str(m) for m in fake_mistral.received)
