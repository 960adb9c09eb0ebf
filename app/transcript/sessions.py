"""Recorded sessions on disk: ``data_dir()/sessions/<id>/`` holds journal.jsonl and meta.json.

meta.json keeps the name, the start time and, once the session is closed cleanly, a summary
(duration, sources), so listing reads no journals. A session that was not closed -- the app was
killed, or it is still recording -- is summarised from its journal instead, and reopening it
replays the journal and appends after it.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from app.events import Segment
from app.paths import data_dir
from app.transcript.journal import Journal, StorageError, read_journal, storage_error
from app.transcript.segmenter import PAUSE
from app.transcript.text import one_line
from app.transcript.transcript import Transcript

JOURNAL = "journal.jsonl"
META = "meta.json"
_ID = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class SessionInfo:
    id: str
    name: str
    created: float  # wall clock (time.time()) when the session started
    duration: float  # seconds of audio timeline it covers
    sources: tuple[str, ...]  # labels, in order of first appearance
    closed: bool  # False: still recording, or the app stopped without closing it
    path: Path


class SessionNotFound(LookupError):
    """No session, or more than one, matches what the user typed."""

    def __init__(self, ref: str, matches: Iterable[str] = ()) -> None:
        self.ref = ref
        self.matches = sorted(matches)
        super().__init__(ref)

    def __str__(self) -> str:
        if self.matches:
            return f"'{self.ref}' matches several sessions: {', '.join(self.matches)}"
        return f"no session '{self.ref}'; `voxcap sessions list` shows the ids"


def sessions_dir() -> Path:
    return data_dir() / "sessions"


def list_sessions() -> list[SessionInfo]:
    """All sessions, newest first."""
    root = sessions_dir()
    if not root.is_dir():
        return []
    infos = [_info(folder) for folder in root.iterdir() if folder.is_dir()]
    return sorted(infos, key=lambda info: (info.created, info.id), reverse=True)


def find_session(ref: str) -> SessionInfo:
    """The session whose id is ``ref``, or the only one whose id starts with it."""
    root = sessions_dir()
    if not _ID.fullmatch(ref) or not root.is_dir():
        raise SessionNotFound(ref)
    if (root / ref).is_dir():
        return _info(root / ref)
    matches = [f for f in root.iterdir() if f.is_dir() and f.name.startswith(ref)]
    if len(matches) != 1:
        raise SessionNotFound(ref, (m.name for m in matches))
    return _info(matches[0])


def create_session(
    name: str | None = None,
    *,
    pause: float = PAUSE,
    flush_interval: float = 1.0,
) -> Transcript:
    """A new session on disk, recording from now on."""
    root = sessions_dir()
    created = time.time()
    try:
        root.mkdir(parents=True, exist_ok=True)
        folder = _new_folder(root, created)
        default = time.strftime("Session %Y-%m-%d %H:%M", time.localtime(created))
        meta = {"id": folder.name, "name": one_line(name or "") or default, "created": created}
        _write_meta(folder, {**meta, "closed": False})
    except OSError as exc:
        raise StorageError(
            f"cannot create a session in {root}: {exc.strerror or exc}. Make that folder "
            "writable, or point VOXCAP_DATA_DIR at one that is."
        ) from exc
    return _open(folder, [], pause, flush_interval)


def reopen_session(
    ref: str,
    *,
    pause: float = PAUSE,
    flush_interval: float = 1.0,
) -> Transcript:
    """Restores a session from its journal and keeps appending to it."""
    info = find_session(ref)
    records = _records(info.path)
    _update_meta(info.path, closed=False)
    return _open(info.path, records, pause, flush_interval)


def load_segments(ref: str, pause: float = PAUSE) -> list[Segment]:
    """A session's segments, read-only (it may still be recording elsewhere)."""
    return Transcript(history=_records(find_session(ref).path), pause=pause).segments


def rename_session(ref: str, name: str) -> SessionInfo:
    name = one_line(name)
    if not name:
        raise ValueError("a session name cannot be empty")
    info = find_session(ref)
    _update_meta(info.path, name=name)
    return _info(info.path)


def delete_session(ref: str) -> SessionInfo:
    """Removes a session and its journal for good."""
    info = find_session(ref)
    shutil.rmtree(info.path)
    return info


class _SessionJournal:
    """The session's journal, which also keeps the summary written to meta.json on close."""

    def __init__(self, folder: Path, journal: Journal, records: list[dict]) -> None:
        self._folder = folder
        self._journal = journal
        self._duration, self._sources = _summarise(records)

    def append(self, record: dict) -> None:
        self._note(record)
        self._journal.append(record)

    def flush(self) -> None:
        self._journal.flush()

    def close(self) -> None:
        self._journal.close()
        try:
            _update_meta(self._folder, closed=True, duration=self._duration, sources=self._sources)
        except OSError as exc:
            raise storage_error("save the session summary to", self._folder / META, exc) from exc

    def _note(self, record: dict) -> None:
        self._duration = max(self._duration, _record_end(record))
        if record["source"] not in self._sources:
            self._sources.append(record["source"])


def _open(
    folder: Path,
    records: list[dict],
    pause: float,
    flush_interval: float,
) -> Transcript:
    sink = _SessionJournal(folder, Journal(folder / JOURNAL, flush_interval), records)
    return Transcript(journal=sink, session_id=folder.name, history=records, pause=pause)


def _new_folder(root: Path, created: float) -> Path:
    base = time.strftime("%Y%m%d-%H%M%S", time.localtime(created))
    for n in range(1, 1000):
        folder = root / (base if n == 1 else f"{base}-{n}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
    raise FileExistsError(f"too many sessions started at {base}")


def _records(folder: Path) -> list[dict]:
    path = folder / JOURNAL
    return read_journal(path) if path.exists() else []


def _record_end(record: dict) -> float:
    if record.get("type") == "gap":
        return float(record["start"]) + float(record["duration"])
    return float(record["end"])


def _summarise(records: list[dict]) -> tuple[float, list[str]]:
    duration, sources = 0.0, []
    for record in records:
        try:
            duration = max(duration, _record_end(record))
            if str(record["source"]) not in sources:
                sources.append(str(record["source"]))
        except (KeyError, TypeError, ValueError):
            continue  # the transcript skips such records too
    return duration, sources


def _info(folder: Path) -> SessionInfo:
    meta = _read_meta(folder)
    duration, sources = meta.get("duration"), meta.get("sources")
    if not (meta.get("closed") and isinstance(duration, (int, float)) and isinstance(sources, list)):
        try:
            duration, sources = _summarise(_records(folder))
        except OSError:  # listed anyway; reading it will say what is wrong
            duration, sources = 0.0, []
    created = meta.get("created")
    if not isinstance(created, (int, float)):
        created = folder.stat().st_mtime
    name = meta.get("name")
    return SessionInfo(
        id=folder.name,
        name=name if isinstance(name, str) and name else folder.name,
        created=float(created),
        duration=float(duration),
        sources=tuple(str(s) for s in sources),
        closed=bool(meta.get("closed")),
        path=folder,
    )


def _read_meta(folder: Path) -> dict:
    """meta.json, or {} when it is missing or damaged (the journal is what matters)."""
    try:
        meta = json.loads((folder / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _update_meta(folder: Path, **changes: object) -> None:
    meta = _read_meta(folder)
    meta.setdefault("id", folder.name)
    meta.update(changes)
    _write_meta(folder, meta)


def _write_meta(folder: Path, meta: dict) -> None:
    """Replaces meta.json in one step, so a crash leaves the old file or the new one."""
    tmp = folder / (META + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"version": 1, **meta}, f, ensure_ascii=False, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, folder / META)
