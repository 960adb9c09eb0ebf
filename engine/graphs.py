"""CUDA graphs of the steady 80 ms step: one launch replays the encoder's or decoder's kernels.

At steady state every step has the same shapes (B streams x 8 mel frames -> 4 encoder frames ->
1 token) and writes into the same preallocated caches, so each half is captured once per stream
group and replayed from then on. The only host-device sync left in a step is reading the argmax.

Capture records kernels without running them; the first few steps of each kind run eagerly and
serve as warm-up (cuBLAS handles, kernel selection) with real data, so nothing is computed twice
and no state needs restoring. Any capture failure switches the group back to eager steps.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

import torch

from engine.decoder import greedy

log = logging.getLogger(__name__)

WARMUP_STEPS = 3  # eager steps of a kind before it is captured


class CapturedCall:
    """``fn(*inputs) -> tensor`` with fixed input shapes, replayed from a CUDA graph."""

    def __init__(self, fn: Callable[..., torch.Tensor]) -> None:
        self.fn = fn
        self.eager_calls = 0
        self.graph: torch.cuda.CUDAGraph | None = None
        self.inputs: list[torch.Tensor] = []
        self.output: torch.Tensor | None = None
        self.failed = False

    def __call__(self, *inputs: torch.Tensor) -> torch.Tensor:
        if self.graph is None and not self.failed and self.eager_calls >= WARMUP_STEPS:
            self._capture(inputs)
        if self.graph is None:
            self.eager_calls += 1
            return self.fn(*inputs)
        for buffer, x in zip(self.inputs, inputs, strict=True):
            buffer.copy_(x, non_blocking=True)
        self.graph.replay()
        return self.output

    def _capture(self, inputs: tuple[torch.Tensor, ...]) -> None:
        self.inputs = [x.clone() for x in inputs]
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph):
                self.output = self.fn(*self.inputs)
        except RuntimeError as exc:  # a kernel that cannot be captured: stay eager
            log.warning("CUDA graph capture failed, running eagerly: %s", exc)
            self.failed, self.inputs, self.output = True, [], None
            return
        self.graph = graph


class GroupGraphs:
    """The two captured halves of a stream group's steady step."""

    def __init__(self, group) -> None:
        net, n = group.parts.net, len(group.streams)
        conv, enc_cache = group.conv.rows(0, n), group.enc_cache.rows(0, n)
        dec_cache, scales = group.dec_cache.rows(0, n), group.scales

        def encode(mel: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
            return net.adapter(net.encoder(mel, conv, enc_cache, pos))  # (B, 1, dim)

        def decode(ids: torch.Tensor, audio: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
            h = net.decoder(ids, audio, pos, dec_cache, scales)
            return greedy(net.decoder.logits(h[:, -1]))  # (B,)

        self.encode = CapturedCall(encode)
        self.decode = CapturedCall(decode)
