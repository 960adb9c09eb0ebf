"""Hashing files in large blocks, with progress and cancel: sha256 always, git's blob hash on
request (the Hub identifies small, non-LFS files by it).
"""
from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from app.models.errors import Cancelled

BLOCK = 8 * 1024 * 1024


@dataclass(frozen=True)
class Digests:
    sha256: str
    git_sha1: str | None


class Hasher:
    """Feeds the same bytes to sha256 and, when asked, to git's ``blob <size>\\0`` sha1."""

    def __init__(self, size: int, git: bool):
        self._sha256 = hashlib.sha256()
        self._git = None
        if git:
            self._git = hashlib.sha1(usedforsecurity=False)
            self._git.update(b"blob %d\0" % size)

    def update(self, data: bytes | memoryview) -> None:
        self._sha256.update(data)
        if self._git is not None:
            self._git.update(data)

    def digests(self) -> Digests:
        git = self._git.hexdigest() if self._git is not None else None
        return Digests(self._sha256.hexdigest(), git)


def copy_hashing(
    src: BinaryIO,
    dst: BinaryIO | None,
    hasher: Hasher,
    on_bytes: Callable[[int], None],
    cancel: threading.Event,
) -> int:
    """Reads ``src`` to its end, hashing it and writing it to ``dst`` if given; returns bytes read."""
    buf = bytearray(BLOCK)
    view = memoryview(buf)
    done = 0
    while n := src.readinto(buf):
        if cancel.is_set():
            raise Cancelled("Stopped.")
        hasher.update(view[:n])
        if dst is not None:
            dst.write(view[:n])
        done += n
        on_bytes(done)
    return done


def hash_file(
    path: Path, git: bool, on_bytes: Callable[[int], None], cancel: threading.Event
) -> Digests:
    hasher = Hasher(path.stat().st_size, git)
    with open(path, "rb", buffering=0) as f:
        copy_hashing(f, None, hasher, on_bytes, cancel)
    return hasher.digests()
