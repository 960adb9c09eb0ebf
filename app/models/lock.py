"""One operation at a time on a model folder, across threads and processes.

A download running in the GUI and ``voxcap model download`` in a terminal must not append to the
same partial file. The OS releases the file lock when a process dies, so a crash never leaves
the model locked.
"""
from __future__ import annotations

import os
from pathlib import Path

from app.filelock import try_lock
from app.models.errors import BusyError


class FolderLock:
    """Held for the span of a ``with`` block; raises BusyError when someone else holds it."""

    def __init__(self, path: Path):
        self._path = path
        self._fd: int | None = None

    def __enter__(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        if not try_lock(fd):
            os.close(fd)
            raise BusyError(
                "Another voxcap window or command is already downloading, verifying or "
                "importing this model. Wait for it to finish (or close it) and try again."
            )
        self._fd = fd

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the lock on every platform
            self._fd = None
