"""Weight-only quantisation: int8 with per-output-channel scales, int4 with group-wise ones.

int8 halves the bytes each step reads (about 4.5 GB for the real model instead of 8.9 GB), so the
model fits 8 GB cards. Every Linear of the encoder, adapter and decoder is quantised, and so is
the token embedding, which is also the LM head (its rows are the output channels). Where torch has
a fused int8 matmul for the device and dtype it is used; elsewhere the weight is widened on the
fly, which is slower but identical in result up to rounding. On the CPU a step's few rows (up to
8) go to compiled loops of our own (:mod:`engine.cpukernels`, float32 activations and sums), which
read the weights faster than torch's kernel; a prompt's many rows go to torch's.

int4 (CPU only) quarters them again: each group of 32-128 input weights of a row has its own
scale and offset (torch's "tinygemm" layout, ``_weight_int4pack_mm_for_cpu``). Matrices whose
shape that kernel cannot take, and the token embedding (looked up row by row as well as used as
the LM head), stay int8. Activations enter the fused kernels in bfloat16 on the CPU, their fast
pairing; results return in the model dtype.
"""
from __future__ import annotations

from functools import cache

import torch
import torch.nn.functional as F
from torch import nn

from engine.layers import swap_children


def quantize_rows(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(out, in) float -> int8 weights and per-row scales (out,), scale = absmax / 127."""
    wf = w.float()
    scale = wf.abs().amax(dim=1).clamp(min=1e-12) / 127.0
    q = torch.round(wf / scale[:, None]).clamp(-127, 127).to(torch.int8)
    return q, scale


def kernel_dtype(device: torch.device, dtype: torch.dtype) -> torch.dtype:
    """The activation dtype the fused int8 matmul runs fast with for a model in ``dtype``.

    On the CPU torch's ``_weight_int8pack_mm`` reaches 40-70 % of the memory-bandwidth floor with
    bfloat16 activations but 5-7 % with float32 ones, so a float32 model's activations are
    rounded to bfloat16 for the matmul alone (the int8 weights' own error is far larger). This
    pairing serves the rows :mod:`engine.cpukernels` does not take (a prompt's many).
    """
    if device.type == "cpu" and dtype == torch.float32 and _fused_ok(device, torch.bfloat16):
        return torch.bfloat16
    return dtype


@cache
def _fused_ok(device: torch.device, dtype: torch.dtype) -> bool:
    try:
        x = torch.ones(1, 32, device=device, dtype=dtype)
        w = torch.ones(8, 32, device=device, dtype=torch.int8)
        torch._weight_int8pack_mm(x, w, torch.ones(8, device=device, dtype=dtype))
    except (RuntimeError, NotImplementedError, AttributeError):
        return False
    return True


@cache
def cpu_kernels():
    """:mod:`engine.cpukernels`, or None where numba is missing or its compiler library cannot
    load (the product then runs on torch's kernel alone)."""
    try:
        import engine.cpukernels as kernels  # a plain import, so app bundlers see it
    except (ImportError, OSError):
        return None
    return kernels


def int8_linear(x: torch.Tensor, q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """x (..., in) @ (q * scale)^T -> (..., out), in x's dtype.

    q: int8 (out, in); scale: (out,) in the kernel dtype (see :func:`kernel_dtype`). On the CPU,
    up to ``cpukernels.rows_taken()`` rows (2 or 8, by the CPU) run on :mod:`engine.cpukernels`
    in float32.
    """
    if x.device.type == "cpu" and (kernels := cpu_kernels()) is not None:
        rows = x.reshape(-1, x.shape[-1])
        if 1 <= rows.shape[0] <= kernels.rows_taken():  # no rows: torch's kernel returns none
            y = kernels.int8_rows(rows, q, scale)
            return y.reshape(*x.shape[:-1], q.shape[0]).to(x.dtype)
    kd = kernel_dtype(x.device, x.dtype)
    if _fused_ok(x.device, kd):
        rows = _aligned(x.reshape(-1, x.shape[-1]).to(kd).contiguous())  # (N, in)
        y = torch._weight_int8pack_mm(rows, _aligned(q), _aligned(scale.to(kd)))  # (N, out)
        return y.reshape(*x.shape[:-1], q.shape[0]).to(x.dtype)
    return F.linear(x, q.to(x.dtype)) * scale


def _aligned(t: torch.Tensor) -> torch.Tensor:
    """``t``, copied where it does not start on a 64-byte boundary: torch's AVX-512 int8 kernel
    reads its operands with aligned loads and faults on others (a view into a larger tensor, a
    mapped file). Stored weights are aligned when written (engine.weights.ALIGN); fresh tensors
    are aligned by torch's allocator."""
    return t if t.data_ptr() % 64 == 0 else t.clone()


class Int8Linear(nn.Module):
    def __init__(self, in_features: int, out_features: int, bias: bool) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features, dtype=torch.int8),
                                   requires_grad=False)
        self.scale = nn.Parameter(torch.empty(out_features), requires_grad=False)
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = int8_linear(x, self.weight, self.scale)
        return y if self.bias is None else y + self.bias


class Int8Embedding(nn.Module):
    """Token embedding whose int8 rows also serve as the tied LM head."""

    def __init__(self, num: int, dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(num, dim, dtype=torch.int8), requires_grad=False)
        self.scale = nn.Parameter(torch.empty(num), requires_grad=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.weight[ids].to(self.scale.dtype) * self.scale[ids, None]

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        return int8_linear(h, self.weight, self.scale)


def quantized_modules(net: nn.Module, mode: str) -> dict[str, int | None]:
    """Swap every Linear and the embedding of ``net`` (on meta) for quantised twins.

    ``mode`` is "int8" or "int4". Returns the names of the weights to quantise when loading,
    each with its int4 group size (None: int8).
    """
    def twin(child: nn.Module) -> nn.Module | None:
        if isinstance(child, nn.Embedding):
            return Int8Embedding(child.num_embeddings, child.embedding_dim)
        if not isinstance(child, nn.Linear):
            return None
        has_bias = child.bias is not None
        group = int4_group(child.out_features, child.in_features) if mode == "int4" else None
        return (Int4Linear(child.in_features, child.out_features, has_bias, group) if group
                else Int8Linear(child.in_features, child.out_features, has_bias))

    swapped = swap_children(net, twin)
    return {f"{path}.weight": getattr(m, "group", None) for path, m in swapped.items()}


INT4_GROUPS = (128, 64, 32)  # input weights per scale, largest first; the kernel's choices


def int4_group(out_features: int, in_features: int) -> int | None:
    """The group size for an (out, in) int4 matrix, or None when the CPU kernel cannot take it
    (it needs out a multiple of 16 and in a multiple of the group)."""
    if out_features % 16:
        return None
    return next((g for g in INT4_GROUPS if in_features % g == 0), None)


def int4_layout() -> str:
    """The CPU kind torch packs int4 weights for: "AVX512", "AVX2", "DEFAULT", ...

    ``_convert_weight_to_int4pack_for_cpu`` interleaves the nibbles of 16, 32 or 64 output rows
    by the vector width torch dispatches to (int4mm_kernel.cpp in ATen), so packed weights read
    right only on a CPU of the same kind: the same matrix packs to different bytes on AVX-512,
    AVX2 and plain code, and a kernel fed another kind's bytes computes garbage, raising nothing.
    """
    return torch.backends.cpu.get_cpu_capability()


def quantize_groups(w: torch.Tensor, group: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(out, in) float -> packed int4 weights (out, in/2) uint8 and scales_and_zeros
    (in/group, out, 2) bfloat16 for ``_weight_int4pack_mm_for_cpu``.

    Each group maps its [min, max] onto 0..15; the kernel computes (q - 8) * scale + zero. The
    packed bytes are valid on this kind of CPU only (:func:`int4_layout`).
    """
    out, k = w.shape
    g = w.float().reshape(out, k // group, group)
    lo, hi = g.amin(-1, keepdim=True), g.amax(-1, keepdim=True)
    scale = ((hi - lo) / 15).clamp(min=1e-12)
    q = torch.round((g - lo) / scale).clamp(0, 15).to(torch.int32).reshape(out, k)
    scales_zeros = torch.cat((scale, lo + 8 * scale), -1).transpose(0, 1).contiguous()
    return torch._convert_weight_to_int4pack_for_cpu(q, 1), scales_zeros.to(torch.bfloat16)


class Int4Linear(nn.Module):
    def __init__(self, in_features: int, out_features: int, bias: bool, group: int) -> None:
        super().__init__()
        self.in_features, self.out_features, self.group = in_features, out_features, group
        self.weight = nn.Parameter(
            torch.empty(out_features, in_features // 2, dtype=torch.uint8), requires_grad=False
        )
        self.scale = nn.Parameter(
            torch.empty(in_features // group, out_features, 2, dtype=torch.bfloat16),
            requires_grad=False,
        )
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, x.shape[-1]).to(torch.bfloat16).contiguous()  # (N, in)
        y = torch._weight_int4pack_mm_for_cpu(rows, self.weight, self.group, self.scale)
        y = y.reshape(*x.shape[:-1], self.out_features).to(x.dtype)
        return y if self.bias is None else y + self.bias
