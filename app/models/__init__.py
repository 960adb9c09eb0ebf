"""The model manager: download, verify, import and locate the pinned Voxtral checkpoint.

No Qt here. The GUI drives a ``ModelManager`` from a worker thread; ``voxcap model`` drives the
same object from the terminal; at start the app calls ``resolve_model_dir()``, which neither
hashes nor touches the network.
"""
from __future__ import annotations

from app.models.errors import (
    BadFolderError,
    BusyError,
    Cancelled,
    DamagedError,
    DiskFullError,
    GatedError,
    HubError,
    ModelError,
    NoNetworkError,
    NotReadyError,
)
from app.models.manager import ModelManager, not_ready_message, resolve_model_dir
from app.models.manifest import DEFAULT_MANIFEST, Manifest, ModelFile
from app.models.progress import ProgressCallback, human_size
from app.models.status import Discrepancy, FileStatus, ModelStatus, State

__all__ = [
    "DEFAULT_MANIFEST",
    "BadFolderError",
    "BusyError",
    "Cancelled",
    "DamagedError",
    "Discrepancy",
    "DiskFullError",
    "FileStatus",
    "GatedError",
    "HubError",
    "Manifest",
    "ModelError",
    "ModelFile",
    "ModelManager",
    "ModelStatus",
    "NoNetworkError",
    "NotReadyError",
    "ProgressCallback",
    "State",
    "human_size",
    "not_ready_message",
    "resolve_model_dir",
]
