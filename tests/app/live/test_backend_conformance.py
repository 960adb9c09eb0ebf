"""Every backend keeps the same contract: the local engine and each fake run the same checks."""
from __future__ import annotations

import numpy as np
import pytest

from app.events import Piece
from app.live.backend import Backend, BackendError, BackendState
from app.live.local import LocalBackend
from tests.app.live.fakes import ScriptedBackend, SlowBackend
from tests.engine.conftest import chirp

SCRIPT = {k: Piece(f" w{k}", (k - 1) * 0.08, k * 0.08) for k in range(3, 60, 4)}


@pytest.fixture(params=["local", "scripted", "slow"])
def make(request, model):
    """A factory of fresh backends of one kind."""
    return {
        "local": lambda: LocalBackend(model),
        "scripted": lambda: ScriptedBackend(SCRIPT),
        "slow": lambda: SlowBackend(LocalBackend(model), 0.0),
    }[request.param]


def run(backend: Backend, stream, audio: np.ndarray, chunk: int = 3000):
    """Push ``audio`` in chunks, advancing after each, then finish; all it took, joined."""
    pieces, steps = [], 0
    for at in range(0, audio.size, chunk):
        backend.push(stream, audio[at : at + chunk])
        backend.advance()
        taken = backend.take(stream)
        pieces += taken.pieces
        steps += taken.steps
        assert not taken.lost
    backend.finish(stream)
    taken = backend.take(stream)
    return pieces + taken.pieces, steps, taken.steps


def test_is_a_backend_and_ready(make):
    backend = make()
    assert isinstance(backend, Backend)
    assert backend.status.state == BackendState.READY
    caps = backend.capabilities
    assert caps.step_samples > 0


def test_input_errors(make):
    backend = make()
    if backend.capabilities.fixed_delay_ms is None:
        with pytest.raises(ValueError, match="delay"):
            backend.open(100)
    stream = backend.open(480)
    with pytest.raises(ValueError, match="1-D"):
        backend.push(stream, np.zeros((2, 100), np.float32))
    backend.finish(stream)
    with pytest.raises(BackendError, match="finished"):
        backend.push(stream, np.zeros(100, np.float32))


def test_steps_and_timed_pieces(make):
    backend = make()
    audio = chirp(3.0, seed=41)
    pieces, steps, final_steps = run(backend, backend.open(480), audio)
    assert steps > 0 and final_steps > 0, "audio advances steps; finishing decodes the rest"
    assert "".join(p.text for p in pieces), "this audio should give text"
    assert all(0 <= p.start <= p.end for p in pieces)
    assert [p.start for p in pieces] == sorted(p.start for p in pieces)


def test_streams_are_independent_and_chunking_does_not_matter(make):
    a, b = chirp(2.5, seed=42), chirp(2.0, seed=43)
    alone = make()
    want, _, _ = run(alone, alone.open(480), a, chunk=a.size)
    backend = make()
    first, second = backend.open(480), backend.open(160)
    assert first != second
    for at in range(0, b.size, 1280):
        backend.push(second, b[at : at + 1280])  # audio of another stream in between
        backend.advance()
    backend.take(second)
    got, _, _ = run(backend, first, a)
    assert got == want


def test_finish_twice_and_close(make):
    backend = make()
    keep, gone = backend.open(480), backend.open(480)
    backend.push(gone, chirp(1.0, seed=44))
    backend.advance()
    backend.finish(gone)
    backend.take(gone)
    backend.finish(gone)
    assert backend.take(gone).pieces == []
    backend.close(gone)
    _, steps, _ = run(backend, keep, chirp(2.0, seed=45))
    assert steps > 0  # the other stream goes on
