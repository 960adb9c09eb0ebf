"""A steady 80 ms step moves one position's keys and values, never a whole KV ring.

The profiler records every operator with its input shapes while two live streams (different
delays, so their rows write different slots) take steady steps after both rings have wrapped.
Any copy-like operator that reads a tensor as large as one layer's ring fails the test: that is
what ``scatter_`` on a bfloat16 CPU tensor did, converting the whole ring to float32 and back.
"""
from __future__ import annotations

import pytest
import torch
from torch.profiler import ProfilerActivity, profile

import engine
from tests.engine.conftest import chirp
from tests.tiny_checkpoint import write_checkpoint

COPIES = {"aten::copy_", "aten::_to_copy", "aten::to", "aten::clone", "aten::contiguous",
          "aten::cat", "aten::stack", "aten::scatter"}


def ring_shapes(group) -> set[tuple[int, ...]]:
    """Sorted dims of one layer's ring and of a whole tower's, in any memory layout."""
    out = set()
    for cache in (group.enc_cache, group.dec_cache):
        out.add(tuple(sorted(cache.k.shape)))
        out.add(tuple(sorted(cache.k[0].shape)))
    return out


@pytest.fixture(scope="module")
def ring_dir(tmp_path_factory):
    # Windows large enough that a ring is bigger than any activation of a steady step.
    return write_checkpoint(tmp_path_factory.mktemp("rings"), enc_window=48, dec_window=32)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_steady_steps_copy_no_ring(ring_dir, dtype):
    model = engine.load_model(ring_dir, dtype=dtype)
    streams = model.streams([480, 160])
    group = streams[0].group
    audio = chirp(5.0, seed=7)
    step = 1280
    warm = 4 * 16000  # past both windows (32 tokens, 48 encoder frames), so both rings wrapped
    for at in range(0, warm, step):
        group.feed([audio[at : at + step]] * 2)
    assert all(s.token_count > 32 for s in streams)
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for at in range(warm, warm + 8 * step, step):
            group.feed([audio[at : at + step]] * 2)
    rings = ring_shapes(group)
    big = sorted({
        f"{e.name} {e.input_shapes}"
        for e in prof.events()
        if e.name in COPIES and any(tuple(sorted(shape)) in rings for shape in e.input_shapes)
    })
    assert not big, f"steady steps copied a ring-sized tensor: {big}"
