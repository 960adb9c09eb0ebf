"""voxcap's streaming engine: Voxtral Mini 4B Realtime in plain PyTorch.

No Qt, no audio devices, no GUI state. ``load_model`` reads a Mistral-layout checkpoint folder;
the returned model transcribes whole arrays or runs live streams (see :mod:`engine.stream`).
"""
from __future__ import annotations

from pathlib import Path

import torch

from engine.errors import CheckpointError, DeviceError, EngineError
from engine.group import StreamGroup
from engine.stream import Model, Piece, Stream, Transcription, check_delay


def load_model(
    path: str | Path,
    device: str | torch.device = "cpu",
    dtype: str | torch.dtype = torch.float32,
    quantize: str | None = None,
    cuda_graphs: bool = True,
    source_sha256: str | None = None,
) -> Model:
    """Load the checkpoint folder ``path`` onto ``device`` in ``dtype``.

    ``quantize="int8"`` stores every weight matrix as int8 with per-output-channel scales;
    ``"int4"`` (CPU only) in groups of 4-bit weights. Given ``source_sha256``, the verified
    sha256 of the folder's weights, the quantised weights are stored beside them once and mapped
    on later loads. ``cuda_graphs`` replays the steady step from CUDA graphs on a CUDA device.
    """
    return Model(Path(path), device, dtype, quantize, cuda_graphs, source_sha256)


__all__ = [
    "CheckpointError",
    "DeviceError",
    "EngineError",
    "Model",
    "Piece",
    "Stream",
    "StreamGroup",
    "Transcription",
    "check_delay",
    "load_model",
]
