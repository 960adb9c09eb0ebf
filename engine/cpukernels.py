"""int8 weight-only products for a few rows on the CPU, compiled by numba at first use.

A streaming step multiplies 1 row (the decoder's token), 2 (two streams) or 4 (the encoder's
frames) by each int8 matrix, so the product is bound by reading the weights, one byte each. torch's
``_weight_int8pack_mm`` reads about 13-16 GB/s for one row on 2 AVX2 cores and 7-10 GB/s for four;
these loops widen each weight once, multiply it into every row with float32 fused multiply-adds
and sum in float32 (LLVM vectorises them for the machine's own SIMD width), reaching about 18-21
GB/s for one row, 11-20 for two and 8-11 for four there, with the model's weights read from
memory, not cache.

Numerics: y[m, n] = scale[n] * sum_k x[m, k] * q[n, k], with x in float32 (a bfloat16 activation
widens exactly) and the sum in float32 in a vectorised order, so each output is within float32
rounding of the exact product: about K * 2^-24 * sum_k |x[m, k] * q[n, k]| * scale[n].

Compiled code is cached beside this file (or in numba's per-user cache when that folder is read
only), so only the first start on a machine pays the compilation (about 3 s). A frozen app
compiles at each start instead: numba's cache needs the source file.
"""
from __future__ import annotations

import os
import sys

import numba
import numpy as np
import torch
from numba import njit, prange

MAX_ROWS = 8  # more rows (a prompt) go to torch's kernel, whose cost grows more slowly per row
# Where the CPU has AVX-512 bfloat16 dot products, torch's kernel multiplies 2-8 rows about as
# fast as one, 1.5-1.8x these loops at four rows (the encoder's), while one row here still reads
# 1.1-1.3x faster (full size, 2 cores, AMD EPYC with AVX-512: encoder 56-58 ms a step on torch's
# kernel against 78-82 ms here, decoder 83-93 ms here against 108-115). So there these loops take
# up to 2 rows (two streams: even), elsewhere (AVX2) up to MAX_ROWS.
ROWS_WITH_BF16_DOT = 2
_CACHE = not getattr(sys, "frozen", False) and os.path.exists(__file__)
_f32 = np.float32


@njit(parallel=True, fastmath=True, boundscheck=False, nogil=True, cache=_CACHE)
def _one_row(x, w, scale, out):  # pragma: no cover - compiled; tested through int8_rows
    k_len = x.shape[1]
    n_len = w.shape[0]
    x0 = x[0]
    for block in prange((n_len + 15) // 16):
        for n in range(block * 16, min(n_len, block * 16 + 16)):
            row = w[n]
            acc = _f32(0)
            for k in range(k_len):
                acc += x0[k] * _f32(row[k])
            out[0, n] = acc * scale[n]


# A row longer than LONG_ROW weights: its float32 activations (36 KB for the decoder's 9216-wide
# down projection) do not stay in the L1 cache (48 KB on AMD Zen 5) while weight row after weight
# row streams past them, so every weight costs a 4-byte activation read from L2, and one row at a
# time read 22-25 GB/s against 40-47 for 3072-wide rows (full size, 2 cores, AMD EPYC Zen 5 with
# AVX-512). Eight weight rows per pass read each activation once for eight weights: 31-45 GB/s
# there, and 36 against 25 compiled for AVX2 (NUMBA_CPU_NAME=haswell) on the same CPU. For rows
# up to 6144 wide, one row at a time is as fast or faster (29-37 GB/s against 28-32).
LONG_ROW = 8192


@njit(parallel=True, fastmath=True, boundscheck=False, nogil=True, cache=_CACHE)
def _one_long_row(x, w, scale, out):  # pragma: no cover - compiled; tested through int8_rows
    """One activation row, eight weight rows per pass (see LONG_ROW)."""
    k_len = x.shape[1]
    n_len = w.shape[0]
    x0 = x[0]
    for octet in prange((n_len + 7) // 8):
        n0 = 8 * octet
        n1 = min(n0 + 1, n_len - 1)  # rows past the end repeat the last one
        n2 = min(n0 + 2, n_len - 1)
        n3 = min(n0 + 3, n_len - 1)
        n4 = min(n0 + 4, n_len - 1)
        n5 = min(n0 + 5, n_len - 1)
        n6 = min(n0 + 6, n_len - 1)
        n7 = min(n0 + 7, n_len - 1)
        r0 = w[n0]
        r1 = w[n1]
        r2 = w[n2]
        r3 = w[n3]
        r4 = w[n4]
        r5 = w[n5]
        r6 = w[n6]
        r7 = w[n7]
        a0 = _f32(0)
        a1 = _f32(0)
        a2 = _f32(0)
        a3 = _f32(0)
        a4 = _f32(0)
        a5 = _f32(0)
        a6 = _f32(0)
        a7 = _f32(0)
        for k in range(k_len):
            y = x0[k]
            a0 += y * _f32(r0[k])
            a1 += y * _f32(r1[k])
            a2 += y * _f32(r2[k])
            a3 += y * _f32(r3[k])
            a4 += y * _f32(r4[k])
            a5 += y * _f32(r5[k])
            a6 += y * _f32(r6[k])
            a7 += y * _f32(r7[k])
        out[0, n0] = a0 * scale[n0]
        out[0, n1] = a1 * scale[n1]
        out[0, n2] = a2 * scale[n2]
        out[0, n3] = a3 * scale[n3]
        out[0, n4] = a4 * scale[n4]
        out[0, n5] = a5 * scale[n5]
        out[0, n6] = a6 * scale[n6]
        out[0, n7] = a7 * scale[n7]


@njit(parallel=True, fastmath=True, boundscheck=False, nogil=True, cache=_CACHE)
def _row_pairs(x, w, scale, out):  # pragma: no cover - compiled; tested through int8_rows
    """x: (2 * P, K), its rows taken two at a time. Four weight rows per pass: eight independent
    sums share each pair of loaded activations, and the four rows stay in the L1 cache for the
    next pair of activation rows."""
    rows, k_len = x.shape
    n_len = w.shape[0]
    for quad in prange((n_len + 3) // 4):
        n0 = 4 * quad
        n1 = min(n0 + 1, n_len - 1)  # rows past the end repeat the last one
        n2 = min(n0 + 2, n_len - 1)
        n3 = min(n0 + 3, n_len - 1)
        r0 = w[n0]
        r1 = w[n1]
        r2 = w[n2]
        r3 = w[n3]
        for g in range(0, rows, 2):
            x0 = x[g]
            x1 = x[g + 1]
            a0 = _f32(0)
            a1 = _f32(0)
            a2 = _f32(0)
            a3 = _f32(0)
            b0 = _f32(0)
            b1 = _f32(0)
            b2 = _f32(0)
            b3 = _f32(0)
            for k in range(k_len):
                y0 = x0[k]
                y1 = x1[k]
                u0 = _f32(r0[k])
                u1 = _f32(r1[k])
                u2 = _f32(r2[k])
                u3 = _f32(r3[k])
                a0 += y0 * u0
                a1 += y0 * u1
                a2 += y0 * u2
                a3 += y0 * u3
                b0 += y1 * u0
                b1 += y1 * u1
                b2 += y1 * u2
                b3 += y1 * u3
            out[g, n0] = a0 * scale[n0]
            out[g, n1] = a1 * scale[n1]
            out[g, n2] = a2 * scale[n2]
            out[g, n3] = a3 * scale[n3]
            out[g + 1, n0] = b0 * scale[n0]
            out[g + 1, n1] = b1 * scale[n1]
            out[g + 1, n2] = b2 * scale[n2]
            out[g + 1, n3] = b3 * scale[n3]


def rows_taken() -> int:
    """The most rows a product sends to these loops on this CPU (see ROWS_WITH_BF16_DOT)."""
    return ROWS_WITH_BF16_DOT if _bf16_dot() else MAX_ROWS


def _bf16_dot() -> bool:
    probe = getattr(torch.cpu, "_is_avx512_bf16_supported", None)  # private in torch 2.x
    return bool(probe and probe())


_threads = 0


def _match_torch_threads() -> None:
    """Run on as many threads as torch does (the app and the benchmark set torch's count)."""
    global _threads
    want = max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS))
    if want != _threads:
        numba.set_num_threads(want)
        _threads = want


def int8_rows(x: torch.Tensor, q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """x (M, K) any float dtype, M <= MAX_ROWS; q (N, K) int8; scale (N,) -> (M, N) float32,
    x @ (q * scale[:, None])^T summed in float32.

    Raises ValueError for more than MAX_ROWS rows or shapes that do not match; all tensors on
    the CPU.
    """
    m, k_len = x.shape
    if not 1 <= m <= MAX_ROWS or q.shape[1] != k_len or scale.shape != (q.shape[0],):
        raise ValueError(f"int8_rows takes 1-{MAX_ROWS} rows of {q.shape[1]} for a {tuple(q.shape)}"
                         f" matrix and {q.shape[0]} scales; got {tuple(x.shape)} and"
                         f" {tuple(scale.shape)}")
    _match_torch_threads()
    w = q.contiguous().numpy()
    s = scale.to(torch.float32).contiguous().numpy()
    if m == 1:
        out = torch.empty(1, q.shape[0])
        one_row = _one_long_row if k_len > LONG_ROW else _one_row
        one_row(x.to(torch.float32).contiguous().numpy(), w, s, out.numpy())
        return out
    xs = x.to(torch.float32)
    if m % 2:
        xs = torch.cat((xs, xs.new_zeros(1, k_len)))
    out = torch.empty(xs.shape[0], q.shape[0])
    _row_pairs(xs.contiguous().numpy(), w, s, out.numpy())
    return out[:m]
