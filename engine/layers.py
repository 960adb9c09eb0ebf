"""Building blocks shared by the audio encoder and the text decoder.

RMSNorm, rotary embedding with float64 angles, grouped-query attention over a ring-buffer KV
cache, and the SwiGLU feed-forward. Reference: transformers ``MistralRMSNorm`` /
``MistralAttention`` / ``MistralMLP``, including its rotate-half layout of q/k.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from engine.cache import RingKV


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The statistics are taken in float32 whatever the model dtype, as the reference does.
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(x.dtype)


def rope_inv_freq(head_dim: int, theta: float) -> torch.Tensor:
    """Rotation frequencies in float64, (head_dim/2,)."""
    exponent = torch.arange(0, head_dim, 2, dtype=torch.float64, device="cpu") / head_dim
    return theta**-exponent


def rope_tables(
    pos: torch.Tensor, inv_freq: torch.Tensor, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin for integer positions (B, T) -> (B, 1, T, head_dim/2) each.

    Angles are formed in float64 so that positions in the millions (hours of audio) keep the
    same precision as position 0; only the final cos/sin are rounded to ``dtype``. The angles
    are formed where ``inv_freq`` lives (the model's device, or the CPU where float64 is missing).
    """
    ang = pos.to(inv_freq.device, torch.float64)[..., None] * inv_freq  # (B, T, hd/2)
    return ang.cos().to(pos.device, dtype)[:, None], ang.sin().to(pos.device, dtype)[:, None]


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate x (B, H, T, hd) by the rotate-half convention: dimension i pairs with i + hd/2.

    The checkpoint's q/k rows are permuted into this layout at load time (see weights.py), so
    every dot product sums its terms in the same order as the reference implementation.
    """
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1)


# contiguous_rows: the encoder's hidden state keeps the conv stem's transposed memory layout
# (B, T, dim) with strides (., 1, T), as the reference's does. On the CPU a bfloat16 linear on such
# strided rows takes a slow path (7.2 ms instead of 1.9 ms for 4 rows of the full encoder's width,
# 92 instead of 10.5 ms for 39), so every projection reads a contiguous copy of its input.
# For a strided input torch's linear does not fuse the bias into the product: it rounds the
# product to the model dtype, then adds the bias. A biased projection on the copy does the same
# (``unfused_linear``), so both layouts give the reference's numbers wherever the product itself
# sums in the same order (every width the bf16 parity test checks).


def unfused_linear(linear: nn.Module, rows: torch.Tensor) -> torch.Tensor:
    """``linear(rows)`` with the bias added after the product is rounded, as torch does for an
    input that is not contiguous; a quantised projection adds its bias after the product too."""
    if isinstance(linear, nn.Linear) and linear.bias is not None:
        return few_rows_linear(rows, linear.weight) + linear.bias
    return linear(rows)


# few_rows: on the CPU a float32 product of 2 to 8 rows by a weight matrix (the encoder's 4 rows
# per step, two streams' decoder rows) runs up to 2.4x faster as weight @ rows^T than as
# rows @ weight^T (torch 2.13's CPU BLAS: 5120 x 1280, 4 rows, 3.95 -> 1.70 ms); one row, or
# more than 8, is as fast either way. The sums may round differently in the last bits, which
# float32's parity tolerance allows; bfloat16, checked bit for bit, keeps torch's own product.
FEW_ROWS = 8


def few_rows_linear(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None
) -> torch.Tensor:
    """``F.linear(x, weight, bias)``: x (..., in) -> (..., out); a float32 CPU input of 2 to
    FEW_ROWS rows is computed as ``weight @ x^T`` (see few_rows)."""
    n = x.numel() // x.shape[-1] if x.shape[-1] else 0
    if (not 1 < n <= FEW_ROWS or x.dtype != torch.float32 or weight.dtype != torch.float32
            or x.device.type != "cpu"):
        return F.linear(x, weight, bias)
    rows = x.reshape(n, x.shape[-1]).t()  # (in, n)
    out = torch.mm(weight, rows) if bias is None else torch.addmm(bias[:, None], weight, rows)
    return out.t().contiguous().view(*x.shape[:-1], weight.shape[0])


class Linear(nn.Linear):
    """nn.Linear computed by :func:`few_rows_linear` (faster for a few float32 CPU rows)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return few_rows_linear(x, self.weight, self.bias)


def swap_children(
    net: nn.Module, twin: Callable[[nn.Module], nn.Module | None]
) -> dict[str, nn.Module]:
    """Replace every submodule of ``net`` for which ``twin(child)`` gives a module by that
    module; returns the replacements by their dotted path."""
    swapped = {}
    for parent_name, parent in list(net.named_modules()):
        for child_name, child in list(parent.named_children()):
            if (new := twin(child)) is not None:
                setattr(parent, child_name, new)
                swapped[f"{parent_name}.{child_name}" if parent_name else child_name] = new
    return swapped


class Attention(nn.Module):
    """Causal sliding-window attention; q/v/o biases only in the encoder, never on k."""

    def __init__(self, dim: int, n_heads: int, n_kv_heads: int, head_dim: int, bias: bool):
        super().__init__()
        self.n_heads, self.n_kv_heads, self.head_dim = n_heads, n_kv_heads, head_dim
        self.wq = Linear(dim, n_heads * head_dim, bias=bias)
        self.wk = Linear(dim, n_kv_heads * head_dim, bias=False)
        self.wv = Linear(dim, n_kv_heads * head_dim, bias=bias)
        self.wo = Linear(n_heads * head_dim, dim, bias=bias)
        self.qkv: nn.Module | None = None  # q, k and v as one product (engine/packed.py)

    def project(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """q, k, v of contiguous rows (B, T, dim): (B, T, H*hd), (B, T, Hkv*hd) twice."""
        if self.qkv is not None:
            return self.qkv(rows).split(self.qkv.sizes, dim=-1)
        return unfused_linear(self.wq, rows), self.wk(rows), unfused_linear(self.wv, rows)

    def forward(
        self,
        x: torch.Tensor,  # (B, T, dim)
        rope: tuple[torch.Tensor, torch.Tensor],
        cache: RingKV,
        layer: int,
    ) -> torch.Tensor:
        B, T, _ = x.shape
        rows = x.contiguous()  # see contiguous_rows
        q, k, v = self.project(rows)
        q = q.view(B, T, self.n_heads, self.head_dim).transpose(1, 2)  # (B, H, T, hd)
        k = k.view(B, T, self.n_kv_heads, self.head_dim).transpose(1, 2)  # (B, Hkv, T, hd)
        v = v.view(B, T, self.n_kv_heads, self.head_dim).transpose(1, 2)
        q, k = apply_rope(q, *rope), apply_rope(k, *rope)
        keys, values, mask = cache.attend_to(layer, k, v)  # (B, Hkv, S, hd), mask (B, 1, T, S)
        o = grouped_attention(q, keys, values, mask)  # (B, H, T, hd)
        return self.wo(o.transpose(1, 2).reshape(B, T, self.n_heads * self.head_dim))


def grouped_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Attention where each group of H/Hkv query heads shares one key/value head.

    The query heads of a group are stacked along the sequence axis, so keys and values are
    read once per group and never copied out to every head (query head h uses kv head
    h // group, as in the reference's repeat_kv).
    """
    B, H, T, hd = q.shape
    Hkv = k.shape[1]
    group = H // Hkv
    if group > 1:
        q = q.reshape(B, Hkv, group * T, hd)
        mask = mask.repeat(1, 1, group, 1) if T > 1 else mask
    o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return o.reshape(B, H, T, hd)


class FeedForward(nn.Module):
    """SwiGLU: w2(silu(w1 x) * w3 x); w1 = gate, w3 = up, w2 = down (bias in the encoder)."""

    def __init__(self, dim: int, hidden: int, bias: bool):
        super().__init__()
        self.w1 = Linear(dim, hidden, bias=False)
        self.w3 = Linear(dim, hidden, bias=False)
        self.w2 = Linear(hidden, dim, bias=bias)
        self.gate_up: nn.Module | None = None  # w1 and w3 as one product (engine/packed.py)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous()  # see contiguous_rows
        if self.gate_up is not None:
            gate, up = self.gate_up(x).split(self.gate_up.sizes, dim=-1)
            return self.w2(F.silu(gate) * up)
        return self.w2(F.silu(self.w1(x)) * self.w3(x))
