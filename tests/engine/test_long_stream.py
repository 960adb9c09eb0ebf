"""Two hours of streaming: fixed cache tensors, flat memory, exact RoPE at large positions."""
from __future__ import annotations

import numpy as np
import psutil
import pytest
import torch

import engine
from engine.layers import rope_tables
from tests.tiny_checkpoint import write_checkpoint

SMALLEST = {
    "enc_dim": 16, "enc_layers": 1, "enc_heads": 2, "enc_kv_heads": 2, "enc_head_dim": 8, "enc_hidden": 32,
    "enc_window": 16, "dec_dim": 16, "dec_layers": 1, "dec_heads": 2, "dec_kv_heads": 1, "dec_head_dim": 8,
    "dec_hidden": 32, "dec_window": 12, "n_words": 300,
}


def fresh_float64_rope(positions: np.ndarray, head_dim: int, theta: float):
    freq = theta ** (-np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    ang = positions.astype(np.float64)[:, None] * freq
    return np.cos(ang), np.sin(ang)


@pytest.mark.slow
def test_two_hour_stream_keeps_memory_flat(tmp_path):
    torch.set_num_threads(1)
    model = engine.load_model(write_checkpoint(tmp_path, **SMALLEST))
    stream = model.stream(480)
    caches = [stream.group.enc_cache, stream.group.dec_cache]
    shapes = [(c.k.shape, c.v.shape, c.pos.shape) for c in caches]
    pointers = [(c.k.data_ptr(), c.v.data_ptr()) for c in caches]
    rng = np.random.default_rng(0)
    minute = 16000 * 60
    rss = {}
    for m in range(120):
        stream.feed((0.05 * rng.standard_normal(minute)).astype(np.float32))
        if m in (59, 119):
            rss[m] = psutil.Process().memory_info().rss
    assert [(c.k.shape, c.v.shape, c.pos.shape) for c in caches] == shapes
    assert [(c.k.data_ptr(), c.v.data_ptr()) for c in caches] == pointers
    assert stream.audio_time == pytest.approx(7200.0)
    assert len(stream.tokens) > 89_900
    # The whole second hour may add the 4-byte token ids and allocator noise, nothing more.
    assert rss[119] - rss[59] < 8 * 2**20, f"grew {(rss[119] - rss[59]) / 2**20:.1f} MiB"
    # The decoder is past position 90 000 and the encoder past 360 000.
    assert int(stream.group.dec_cache.pos.max()) > 90_000
    enc_pos = int(stream.group.enc_cache.pos.max())
    assert enc_pos > 360_000
    assert 0 <= stream.finish().__len__()


@pytest.mark.parametrize("tower", ["encoder", "decoder"])
def test_rope_at_large_positions_matches_float64(tiny_model, tower):
    module = getattr(tiny_model.net, tower)
    cfg = module.config
    positions = np.array([0, 1, 99_999, 100_000, 360_123, 2_000_000, 10_000_001])
    cos, sin = rope_tables(torch.tensor(positions)[None], module.inv_freq, torch.float32)
    ref_cos, ref_sin = fresh_float64_rope(positions, cfg.head_dim, cfg.rope_theta)
    # Rounding the exact value to float32 is the only error left: half an ulp of 1.
    np.testing.assert_allclose(cos[0, 0].numpy(), ref_cos, atol=6e-8, rtol=0)
    np.testing.assert_allclose(sin[0, 0].numpy(), ref_sin, atol=6e-8, rtol=0)
    # Float32 angles, the common shortcut, are off by far more at these positions.
    naive = torch.tensor(positions, dtype=torch.float32)[:, None] * module.inv_freq.float()
    assert np.abs(naive.cos().numpy() - ref_cos).max() > 1e-3
