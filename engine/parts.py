"""The loaded parts of a checkpoint, as one frozen value that streams and groups share.

A :class:`Parts` is everything a stream needs from the model and nothing it could change: the
config, the tokenizer, the network's modules, where they live and in which dtype, and the
log-mel front end. Groups and streams hold a ``Parts``, never the :class:`~engine.model.Model`,
so the loop code imports the model code and not the other way round.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from engine.config import ModelConfig
from engine.mel import LogMel
from engine.tokenizer import Tokenizer
from engine.weights import VoxtralNet, build


@dataclass(frozen=True)
class Parts:
    config: ModelConfig
    tokenizer: Tokenizer
    net: VoxtralNet  # eval mode, on ``device`` in ``dtype`` (int8 matrices when quantized)
    device: torch.device
    dtype: torch.dtype  # activations and caches
    mel: LogMel  # float32 features on ``device``
    cuda_graphs: bool = True  # replay the steady step from CUDA graphs on a CUDA device

    @property
    def sample_rate(self) -> int:  # Hz (16 000)
        return self.config.audio.sample_rate

    @property
    def step_samples(self) -> int:  # samples per decoder step (1280 = 80 ms)
        return self.config.audio.samples_per_token


def load_parts(
    path: Path,
    device: str | torch.device,
    dtype: str | torch.dtype,
    quantize: str | None = None,
    cuda_graphs: bool = True,
    source_sha256: str | None = None,
    progress: Callable[[float], None] | None = None,
) -> Parts:
    """Read the checkpoint folder ``path``; errors as :func:`engine.weights.build` raises them."""
    config, tokenizer, net, dev, dt = build(path, device, dtype, quantize, source_sha256, progress)
    return Parts(config, tokenizer, net, dev, dt, LogMel(config.audio, dev), cuda_graphs)
