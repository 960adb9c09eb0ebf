"""Streaming any chunking of an audio gives exactly the tokens and text of ``transcribe``."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.engine.conftest import chirp

AUDIO = chirp(2.0, seed=7)


@pytest.fixture(scope="module")
def whole(tiny_model):
    return {d: tiny_model.transcribe(AUDIO, delay_ms=d) for d in (80, 480)}


def stream_in_chunks(model, audio, sizes, delay_ms):
    stream = model.stream(delay_ms)
    pieces, at = [], 0
    for size in sizes:
        pieces += stream.feed(audio[at : at + size])
        at += size
    pieces += stream.feed(audio[at:])
    pieces += stream.finish()
    return stream.tokens, pieces


chunkings = st.lists(
    st.one_of(st.integers(0, 3), st.integers(4, 2000), st.integers(10_000, 40_000)),
    min_size=1,
    max_size=30,
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=chunkings, delay_ms=st.sampled_from([80, 480]))
def test_any_chunking_gives_the_whole_file_tokens(tiny_model, whole, sizes, delay_ms):
    tokens, pieces = stream_in_chunks(tiny_model, AUDIO, sizes, delay_ms)
    assert tokens == whole[delay_ms].tokens
    assert "".join(p.text for p in pieces) == whole[delay_ms].text


def test_one_sample_at_a_time(tiny_model, whole):
    tokens, _ = stream_in_chunks(tiny_model, AUDIO[:20_000], [1] * 20_000, 480)
    assert tokens == tiny_model.transcribe(AUDIO[:20_000], 480).tokens


def test_first_token_waits_for_the_prompt_audio(tiny_model):
    stream = tiny_model.stream(480)
    need = 7 * 1280 + 40  # (d + 1) tokens of audio plus the last frame's half window
    stream.feed(AUDIO[: need - 1])
    assert stream.tokens == []
    stream.feed(AUDIO[need - 1 : need])
    assert len(stream.tokens) == 1
    stream.feed(AUDIO[need : need + 1279])
    assert len(stream.tokens) == 1
    stream.feed(AUDIO[need + 1279 : need + 1280])
    assert len(stream.tokens) == 2


def test_pieces_are_timed_and_ordered(whole):
    result = whole[480]
    assert result.pieces, "the tiny model should produce some text"
    starts = [p.start for p in result.pieces]
    assert starts == sorted(starts)
    for p in result.pieces:
        assert 0 <= p.start < p.end <= len(result.tokens) * 0.08 + 1e-9


def test_empty_and_silent_audio(tiny_model):
    empty = tiny_model.transcribe(np.zeros(0, np.float32))
    # 32 silent tokens + 17 of right pad = 49 positions; predictions from position 38 on.
    assert len(empty.tokens) == 49 - 39 + 1
    stream = tiny_model.stream(480)
    assert stream.feed(np.zeros(0, np.float32)) == []
    assert stream.tokens == []
    stream.finish()
    assert stream.tokens == empty.tokens
    assert stream.finish() == []  # finishing twice is harmless


def test_token_count_follows_the_protocol(tiny_model):
    for delay_ms, seconds in ((80, 1.0), (480, 2.5), (2400, 0.3)):
        d = delay_ms // 80
        n = int(16000 * seconds)
        result = tiny_model.transcribe(chirp(seconds), delay_ms)
        positions = 32 + -(-n // 1280) + (d + 1) + 10
        assert len(result.tokens) == positions - (33 + d) + 1
