"""What the model manager reports: the state of the model and of each of its files.

These are plain frozen values, safe to hand from the manager's worker thread to the GUI.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class State(StrEnum):
    MISSING = "missing"  # nothing on disk
    PARTIAL = "partial"  # some bytes on disk, download can resume
    UNVERIFIED = "unverified"  # complete, but changed (or never hashed) since the last check
    DOWNLOADING = "downloading"
    VERIFYING = "verifying"
    READY = "ready"  # complete and its hash matches
    DAMAGED = "damaged"  # complete size or hash does not match; fetch it again


@dataclass(frozen=True)
class FileStatus:
    name: str
    state: State
    size: int  # expected bytes
    done: int  # bytes on disk (partial or whole)
    reason: str = ""  # why damaged, or why a linked file is missing
    cached: Path | None = None  # a copy in the Hugging Face cache at the pinned revision


@dataclass(frozen=True)
class Discrepancy:
    """The Hub reports another value than the pinned table for the pinned commit."""

    file: str
    field: str  # "size" or "sha256"
    pinned: str
    hub: str

    def __str__(self) -> str:
        return (
            f"{self.file}: the Hub reports {self.field} {self.hub} for the pinned commit, "
            f"the built-in table says {self.pinned}; the pinned value is kept and such a file "
            "is refused"
        )


@dataclass(frozen=True)
class ModelStatus:
    state: State
    repo_id: str
    revision: str
    folder: Path  # where the files are (or will be)
    files: tuple[FileStatus, ...]
    discrepancies: tuple[Discrepancy, ...] = ()

    @property
    def ready(self) -> bool:
        return self.state is State.READY

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def done(self) -> int:
        return sum(f.done for f in self.files)

    @property
    def damaged(self) -> tuple[FileStatus, ...]:
        return tuple(f for f in self.files if f.state is State.DAMAGED)


def overall_state(files: tuple[FileStatus, ...]) -> State:
    """One state for the model, the most pressing of its files' states."""
    states = {f.state for f in files}
    for state in (State.DOWNLOADING, State.VERIFYING, State.DAMAGED):
        if state in states:
            return state
    if states == {State.READY}:
        return State.READY
    if states == {State.MISSING}:
        return State.MISSING
    if states <= {State.READY, State.UNVERIFIED}:
        return State.UNVERIFIED
    return State.PARTIAL
