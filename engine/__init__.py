"""voxcap's streaming engine: Voxtral Mini 4B Realtime in plain PyTorch.

No Qt, no audio devices, no GUI state. ``load_model`` reads a Mistral-layout checkpoint folder;
the returned model transcribes whole arrays or runs live streams (see :mod:`engine.stream`).
"""
from __future__ import annotations

from pathlib import Path

import torch

from engine.errors import CheckpointError, DeviceError, EngineError
from engine.stream import Model, Piece, Stream, Transcription, check_delay


def load_model(
    path: str | Path, device: str | torch.device = "cpu", dtype: str | torch.dtype = torch.float32
) -> Model:
    """Load the checkpoint folder ``path`` onto ``device`` in ``dtype``."""
    return Model(Path(path), device, dtype)


__all__ = [
    "CheckpointError",
    "DeviceError",
    "EngineError",
    "Model",
    "Piece",
    "Stream",
    "Transcription",
    "check_delay",
    "load_model",
]
