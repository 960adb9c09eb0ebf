"""voxcap's streaming engine: Voxtral Mini 4B Realtime in plain PyTorch.

No Qt, no audio devices, no GUI state. ``load_model`` reads a Mistral-layout checkpoint folder;
the returned model transcribes whole arrays or runs live streams (see :mod:`engine.model`).

The names below load on first use, so ``engine.delay`` and ``engine.errors`` can be imported
without loading torch (the settings and the GUI read them at start-up).
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.delay import DEFAULT_DELAY_MS, check_delay
    from engine.errors import CheckpointError, DeviceError, EngineError
    from engine.group import Stream, StreamGroup
    from engine.model import Model, Transcription, load_model
    from engine.samples import Repairs
    from engine.stream import Piece
    from engine.weights import DTYPES

_HOMES = {
    "CheckpointError": "engine.errors",
    "DeviceError": "engine.errors",
    "EngineError": "engine.errors",
    "DEFAULT_DELAY_MS": "engine.delay",
    "check_delay": "engine.delay",
    "DTYPES": "engine.weights",
    "Model": "engine.model",
    "Transcription": "engine.model",
    "load_model": "engine.model",
    "Piece": "engine.stream",
    "Repairs": "engine.samples",
    "Stream": "engine.group",
    "StreamGroup": "engine.group",
}

__all__ = [
    "DEFAULT_DELAY_MS",
    "DTYPES",
    "CheckpointError",
    "DeviceError",
    "EngineError",
    "Model",
    "Piece",
    "Repairs",
    "Stream",
    "StreamGroup",
    "Transcription",
    "check_delay",
    "load_model",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)


def __dir__() -> list[str]:
    return __all__
