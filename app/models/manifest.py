"""The pinned checkpoint: which repository, which commit, and the size and sha256 of each file.

The values come from checkpoint.md. A commit fixes its files for good, so a manifest never
changes once written; when a server reports other values for the same commit, the manager keeps
the pinned ones, refuses the server's files and shows the difference (see
``ModelStatus.discrepancies``). Tests build their own manifest for tiny files served from
loopback.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelFile:
    name: str  # path inside the repository
    size: int  # bytes
    sha256: str  # lowercase hex


@dataclass(frozen=True)
class Manifest:
    repo_id: str  # "owner/name" on the Hub
    revision: str  # full commit sha: a branch could move under us
    files: tuple[ModelFile, ...]

    @property
    def folder_name(self) -> str:
        """Name of this checkpoint's folder under ``<data dir>/models``."""
        return f"{self.repo_id.replace('/', '--')}@{self.revision}"

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)

    def file(self, name: str) -> ModelFile:
        for f in self.files:
            if f.name == name:
                return f
        raise KeyError(name)


DEFAULT_MANIFEST = Manifest(
    repo_id="mistralai/Voxtral-Mini-4B-Realtime-2602",
    revision="2769294da9567371363522aac9bbcfdd19447add",
    # Smallest first, so a broken setup shows up before the 8.9 GB file starts.
    files=(
        ModelFile(
            "params.json",
            1_343,
            "2ace010ebf7f0b62c60747d91c6d140e3c7238632d3e9c63d60a2bd2065ea301",
        ),
        ModelFile(
            "tekken.json",
            14_910_348,
            "8434af1d39eba99f0ef46cf1450bf1a63fa941a26933a1ef5dbbf4adf0d00e44",
        ),
        ModelFile(
            "consolidated.safetensors",
            8_859_462_744,
            "263f178fe752c90a2ae58f037a95ed092db8b14768b0978b8c48f66979c8345d",
        ),
    ),
)
