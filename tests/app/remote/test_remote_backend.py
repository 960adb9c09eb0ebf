"""The remote backend against a fake vLLM realtime server: timing, and every fault on demand."""
from __future__ import annotations

import threading

import pytest

from app.live.backend import Backend, BackendError, BackendState
from app.live.remote_backend import vllm_backend
from tests.app.remote.fake_server import DELAY_STEPS, FakeServer, Faults, word
from tests.app.remote.helpers import noise, push_all, wait_until

STEP = 0.08


def make(server: FakeServer, key: str | None = None, max_lag_s: float = 4.0):
    wakeup = threading.Event()
    backend = vllm_backend(server.url, "tiny", key, max_lag_s=max_lag_s, wakeup=wakeup)
    return backend, wakeup


def run_through(backend, audio, finish: bool = True):
    sid = backend.open(480)
    push_all(backend, sid, audio)
    if finish:
        backend.finish(sid)
    return sid


def expected_words(steps: int, base: float = 0.0) -> list[tuple[str, float]]:
    return [(word(k), round(base + k * STEP, 6)) for k in range(steps) if word(k)]


def app_tracebacks(caplog) -> list:
    """Log records of ours that carry a traceback (the fake server's own are not ours)."""
    return [r for r in caplog.records if r.name.startswith("app") and r.exc_info]


def pieces(taken) -> list[tuple[str, float]]:
    return [(p.text, round(p.start, 6)) for p in taken.pieces]


def test_each_delta_is_one_step_on_the_stream_clock(fake_vllm):
    backend, _ = make(fake_vllm)
    assert isinstance(backend, Backend)
    sid = run_through(backend, noise(3.0))
    taken = backend.take(sid)
    steps = 38 + DELAY_STEPS  # 3 s is 37.5 steps, padded to 38, then the delay drained
    assert pieces(taken) == expected_words(steps)
    assert taken.steps == steps and taken.lost == []
    assert all(abs(p.end - p.start - STEP) < 1e-9 for p in taken.pieces)
    assert bytes(fake_vllm.audio[: 2 * 16000 * 3]) == bytes(fake_vllm.audio)  # all audio, once
    assert len(fake_vllm.audio) == 2 * 48000
    backend.close(sid)


def test_two_streams_are_two_server_sessions(fake_vllm):
    backend, _ = make(fake_vllm)
    a, b = backend.open(480), backend.open(480)
    push_all(backend, a, noise(1.0, seed=1))
    push_all(backend, b, noise(2.0, seed=2))
    backend.finish(a)
    backend.finish(b)
    assert fake_vllm.connections == 2
    assert pieces(backend.take(a)) == expected_words(13 + DELAY_STEPS)
    assert pieces(backend.take(b)) == expected_words(25 + DELAY_STEPS)


def test_drop_mid_session_reconnects_and_records_the_gap(fake_vllm, caplog):
    fake_vllm.faults = Faults(drop_at_step=10)
    backend, wakeup = make(fake_vllm)
    sid = backend.open(480)
    push_all(backend, sid, noise(2.0))
    assert wait_until(lambda: fake_vllm.connections == 2
                      and backend.status.state == BackendState.READY, wakeup)
    push_all(backend, sid, noise(1.0, seed=3))
    backend.finish(sid)
    taken = backend.take(sid)
    assert taken.lost, "the audio sent into the dropped connection is a gap"
    start, duration = taken.lost[0]
    # answered up to step 10 (fewer when the reset overtakes the last deltas), then lost
    assert start <= 10 * STEP + 1e-9 and start / STEP == pytest.approx(round(start / STEP))
    after = [p for p in taken.pieces if p.start >= start + duration]
    assert after, "captions resume on their own"
    assert after[0].start == pytest.approx(start + duration + 4 * STEP)  # "w4" of a new session
    assert "connection to the server was lost" in caplog.text
    assert not app_tracebacks(caplog)


def test_unasked_done_starts_a_new_generation_without_a_jump(fake_vllm):
    fake_vllm.faults = Faults(done_at_step=20)
    backend, _ = make(fake_vllm)
    sid = run_through(backend, noise(4.0))
    taken = backend.take(sid)
    commits = [m for m in fake_vllm.received if m["type"] == "input_audio_buffer.commit"]
    assert len(commits) == 3  # start, the new generation, the final one
    assert taken.lost == []
    first = expected_words(20)
    assert pieces(taken)[: len(first)] == first
    rest = pieces(taken)[len(first):]
    assert rest[0] == (word(4), round(20 * STEP + 4 * STEP, 6))  # continues at 1.6 s
    # 50 steps of audio: 20 in the first generation, 30 + the delay's 6 in the second
    assert pieces(taken)[-1] == (word(34), round((20 + 34) * STEP, 6))


def test_processing_error_is_plain_and_captions_resume(fake_vllm, caplog):
    fake_vllm.faults = Faults(error_at_step=5)
    backend, wakeup = make(fake_vllm)
    sid = backend.open(480)
    push_all(backend, sid, noise(1.0))
    assert wait_until(lambda: fake_vllm.connections == 2
                      and backend.status.state == BackendState.READY, wakeup)
    push_all(backend, sid, noise(1.0))
    backend.finish(sid)
    assert "the server failed while transcribing (engine crashed)" in caplog.text
    assert not app_tracebacks(caplog)
    assert backend.take(sid).pieces


def test_garbage_frames_are_a_plain_error_not_a_hung_thread(fake_vllm, caplog):
    fake_vllm.faults = Faults(garbage_at_step=3)
    before = set(threading.enumerate())
    backend, wakeup = make(fake_vllm)
    sid = backend.open(480)
    push_all(backend, sid, noise(1.0))
    assert wait_until(lambda: fake_vllm.connections == 2, wakeup)
    backend.finish(sid)
    assert "not the realtime protocol" in caplog.text
    assert not app_tracebacks(caplog)
    assert not [t for t in set(threading.enumerate()) - before
                if t.name.startswith("voxcap-remote") and t.is_alive()]


@pytest.mark.parametrize("key", [None, "wrong-key-123"])
def test_a_missing_or_wrong_key_fails_plainly_and_never_shows_the_key(key):
    with FakeServer(api_key="right-key-456") as server:
        backend, wakeup = make(server, key)
        sid = backend.open(480)
        assert wait_until(lambda: backend.status.state == BackendState.FAILED, wakeup)
        message = backend.status.message
        assert "refused the API key (HTTP 401)" in message
        assert "right-key" not in message and "wrong-key" not in message
        with pytest.raises(BackendError):
            backend.push(sid, noise(0.1))
        assert server.seen_headers[0] == (f"Bearer {key}" if key else "")


def test_the_right_key_goes_in_the_authorization_header():
    with FakeServer(api_key="right-key-456") as server:
        backend, _ = make(server, "right-key-456")
        sid = run_through(backend, noise(1.0))
        assert backend.take(sid).pieces
        assert not server.received or all("right-key" not in str(m) for m in server.received)


def test_an_unknown_model_fails_and_names_it(fake_vllm):
    wakeup = threading.Event()
    backend = vllm_backend(fake_vllm.url, "nope", None, wakeup=wakeup)
    sid = backend.open(480)
    push_all(backend, sid, noise(0.5))
    assert wait_until(lambda: backend.status.state == BackendState.FAILED, wakeup)
    assert "no model named 'nope'" in backend.status.message


def test_an_unreachable_server_says_so_and_keeps_retrying():
    with FakeServer() as server:
        url = server.url
    wakeup = threading.Event()
    backend = vllm_backend(url, "tiny", None, wakeup=wakeup)
    sid = backend.open(480)
    assert wait_until(lambda: backend.status.state == BackendState.RECONNECTING, wakeup)
    assert "cannot reach 127.0.0.1" in backend.status.message
    assert "connection refused" in backend.status.message
    backend.close(sid)


def test_refused_connections_are_retried_with_backoff():
    with FakeServer(faults=Faults(refuse_connections=2)) as server:
        backend, wakeup = make(server)
        sid = backend.open(480)
        assert wait_until(lambda: backend.status.state == BackendState.READY, wakeup)
        assert server.connections == 3
        push_all(backend, sid, noise(1.0))
        backend.finish(sid)
        assert backend.take(sid).pieces


def test_a_slow_server_skips_audio_past_the_lag_bound(fake_vllm):
    gate = threading.Event()
    fake_vllm.faults = Faults(gate=gate)
    backend, _ = make(fake_vllm, max_lag_s=1.0)
    sid = backend.open(480)
    push_all(backend, sid, noise(5.0))
    assert backend.lag_seconds(sid) <= 1.0 + 0.1
    gate.set()
    backend.finish(sid)
    taken = backend.take(sid)
    skipped = sum(d for _, d in taken.lost)
    assert skipped >= 3.0
    assert len(fake_vllm.audio) < 2 * 16000 * 2.5


def test_push_never_waits_on_the_network_and_advance_is_bounded(fake_vllm, monkeypatch):
    from app.live import remote_backend

    monkeypatch.setattr(remote_backend, "ADVANCE_WAIT_S", 0.05)
    gate = threading.Event()  # the server answers nothing until the end
    fake_vllm.faults = Faults(gate=gate)
    backend, _ = make(fake_vllm)
    sid = backend.open(480)
    push_all(backend, sid, noise(10.0))  # returns although nothing is answered
    backend.advance()  # gives up waiting: the pipeline's lag bound takes over
    assert backend.take(sid).pieces == []
    gate.set()
    backend.finish(sid)


def test_advance_returns_when_the_pushed_audio_is_answered(fake_vllm):
    backend, _ = make(fake_vllm)
    sid = backend.open(480)
    push_all(backend, sid, noise(2.0))
    backend.advance()
    # all but the server's delay (6 steps) and one step is answered
    assert backend.take(sid).steps >= 25 - DELAY_STEPS - 2
    backend.finish(sid)
