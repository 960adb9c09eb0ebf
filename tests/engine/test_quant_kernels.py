"""Quantised weights run on the fast kernel pairing of their device, within stated errors."""
from __future__ import annotations

import torch

import engine
from tests.engine.conftest import chirp


def test_int8_on_cpu_pairs_bf16_activations(tiny_dir, monkeypatch):
    """A float32 model's int8 matmuls run with bfloat16 activations: the pairing torch makes
    fast on the CPU (float32 activations reach a tenth of its speed)."""
    seen = []
    fused = torch._weight_int8pack_mm

    def spy(x, q, scale):
        seen.append((x.dtype, scale.dtype))
        return fused(x, q, scale)

    monkeypatch.setattr(torch, "_weight_int8pack_mm", spy)
    model = engine.load_model(tiny_dir, dtype=torch.float32, quantize="int8")
    stream = model.stream(480)
    rows = []
    stream.logits_hook = rows.append
    stream.feed(chirp(1.0, seed=2))
    assert seen and set(seen) == {(torch.bfloat16, torch.bfloat16)}
    assert rows[0].dtype == torch.float32, "the model's own dtype is unchanged outside the matmul"
