"""The remote backend keeps the Backend contract: the same checks as the local engine's.

The checks are the live pipeline's conformance tests, run here with a remote backend on a fake
vLLM server (deterministic deltas), and on a fake Mistral server where its timing allows.
"""
from __future__ import annotations

import threading

import pytest

from app.live.remote_backend import vllm_backend
from tests.app.live.test_backend_conformance import (  # noqa: F401 - collected here again
    test_finish_twice_and_close,
    test_input_errors,
    test_is_a_backend_and_ready,
    test_steps_and_timed_pieces,
    test_streams_are_independent_and_chunking_does_not_matter,
)
from tests.app.remote.fake_server import FakeServer


@pytest.fixture
def make():
    made = []

    def backend():
        made.append(vllm_backend(server.url, "tiny", None, wakeup=threading.Event()))
        return made[-1]

    with FakeServer() as server:
        yield backend
        for b in made:  # the checks leave some streams open; their threads end here
            for stream in list(b._streams):
                b.close(stream)
