"""What the manager remembers about the files in a model folder, in one small JSON file.

Two kinds of facts, both keyed by file name:

- ``hub``: size and hash the Hub reported for the pinned commit, kept to show where the server
  differs from the pinned table (the pinned values are always what files are checked against);
- ``files``: the size, modification and change times and digests of a file as last hashed, so a
  restart does not hash 8.9 GB again; a file whose size, mtime or ctime changed no longer matches
  its record and is hashed anew (the ctime catches a file rewritten with its mtime put back).

Judgments (ready, damaged) are derived from these facts and the expected values, never stored,
so a later Hub answer re-judges the files without hashing them again. The file is rewritten
atomically; an unreadable one is treated as empty (files are then simply verified again).
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from app.atomic import write_atomic
from app.models.errors import write_error

log = logging.getLogger(__name__)

RECORD_NAME = ".record.json"


@dataclass(frozen=True)
class HubFacts:
    size: int
    sha256: str | None  # large (LFS) files: the Hub's etag is their sha256
    git_sha1: str | None  # small files kept in git: the etag is their git blob hash


@dataclass(frozen=True)
class Digest:
    size: int
    mtime_ns: int
    sha256: str
    git_sha1: str | None  # computed only when the Hub gave a git hash to compare with
    # The inode change time: writing a file and then putting its mtime back still moves it.
    # None in records from before it was kept: such a file is verified again once.
    ctime_ns: int | None = None

    def matches(self, st: os.stat_result) -> bool:
        return (
            st.st_size == self.size
            and st.st_mtime_ns == self.mtime_ns
            and st.st_ctime_ns == self.ctime_ns
        )


class Records:
    def __init__(self, folder: Path):
        self._path = folder / RECORD_NAME
        self._hub: dict[str, HubFacts] = {}
        self._files: dict[str, Digest] = {}
        self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
            self._hub = {k: HubFacts(**v) for k, v in data.get("hub", {}).items()}
            self._files = {k: Digest(**v) for k, v in data.get("files", {}).items()}
        except FileNotFoundError:
            pass
        except (OSError, ValueError, TypeError, AttributeError) as e:
            log.warning("ignoring unreadable %s (%s); files will be verified again", self._path, e)
            self._hub, self._files = {}, {}

    def save(self) -> None:
        data = {
            "hub": {k: asdict(v) for k, v in self._hub.items()},
            "files": {k: asdict(v) for k, v in self._files.items()},
        }
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self._path, json.dumps(data, indent=1))
        except OSError as e:
            raise write_error(e, self._path) from e

    def hub(self, name: str) -> HubFacts | None:
        return self._hub.get(name)

    def set_hub(self, name: str, facts: HubFacts) -> None:
        self._hub[name] = facts

    def digest(self, name: str, st: os.stat_result) -> Digest | None:
        """The digests recorded for ``name``, if the file is unchanged since they were taken."""
        d = self._files.get(name)
        return d if d is not None and d.matches(st) else None

    def set_digest(self, name: str, digest: Digest) -> None:
        self._files[name] = digest

    def forget(self, name: str) -> None:
        self._files.pop(name, None)
