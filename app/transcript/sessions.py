"""Recorded sessions on disk: ``data_dir()/sessions/<id>/`` holds journal.jsonl and meta.json.

A session is kept only once it has text: its folder appears with the first words, so a silent
run or a start that failed leaves nothing behind. meta.json keeps the name, the start time and,
once the session is closed cleanly, a summary (duration, sources), so listing reads no journals.
A session that was not closed -- the app was killed, or it is still recording -- is summarised
from its journal instead, and reopening it replays the journal and appends after it.

A session being recorded holds a lock (the file ``lock`` in its folder, dropped by the OS if the
recorder dies): deleting it and a second writer are refused with the reason. Deleting renames
the folder out of sight in one step before removing it, so a kill never leaves half a session.
Ids are short, random and made of letters and digits that cannot be misread, so a user can type
one, or any prefix that names a single session. Damaged values in meta.json or the journal are
skipped and counted, never fatal to listing or export; a session saved by a newer voxcap in a
format this one does not know is named as such.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from app.atomic import write_atomic
from app.events import Segment
from app.filelock import try_lock
from app.paths import data_dir
from app.transcript.journal import (
    MAX_SECONDS,
    MAX_WALL,
    Journal,
    JournalContents,
    StorageError,
    in_range,
    read_journal,
    storage_error,
)
from app.transcript.segmenter import PAUSE
from app.transcript.text import one_line
from app.transcript.transcript import Transcript

JOURNAL = "journal.jsonl"
META = "meta.json"
LOCK = "lock"
FORMAT_VERSION = 1  # of meta.json and the journal; a newer voxcap writes a higher number
# Letters and digits without look-alikes (0/o, 1/l/i), so an id read off the screen types right.
ID_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
ID_LENGTH = 6
_TRASH = ".deleted-"  # a session being deleted, already out of every listing


@dataclass(frozen=True)
class SessionInfo:
    id: str
    name: str
    created: float  # wall clock (time.time()) when the session started
    duration: float  # seconds it was recording (at least the audio timeline it covers)
    sources: tuple[str, ...]  # labels, in order of first appearance
    closed: bool  # False: still recording, or the app stopped without closing it
    path: Path
    recording: bool = False  # a recorder holds the session's lock now
    problem: str = ""  # why the session cannot be read ("" when it can)


@dataclass(frozen=True)
class SessionContents:
    info: SessionInfo
    segments: list[Segment]
    skipped: int  # damaged journal records left out


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


class SessionBusy(RuntimeError):
    """The session is being recorded (by this or another voxcap): it cannot be deleted or
    written by a second recorder."""

    def __init__(self, session_id: str, action: str) -> None:
        super().__init__(
            f"cannot {action} session {session_id}: it is being recorded right now, by this or "
            "another voxcap window or command. Stop that recording first."
        )


class SessionFormatError(ValueError):
    """The session was saved in a format this version of voxcap does not know."""


def sessions_dir() -> Path:
    return data_dir() / "sessions"


def list_sessions() -> list[SessionInfo]:
    """All sessions, newest first; one that cannot be read is listed with its ``problem``."""
    root = sessions_dir()
    if not root.is_dir():
        return []
    _sweep(root)
    infos = [_info(folder) for folder in _folders(root)]
    return sorted(infos, key=lambda info: (info.created, info.id), reverse=True)


def find_session(ref: str) -> SessionInfo:
    """The session whose id is ``ref``, or the only one whose id starts with it (any case)."""
    root = sessions_dir()
    if not ref or not all(c.isascii() and (c.isalnum() or c in "_-") for c in ref):
        raise SessionNotFound(ref)
    if not root.is_dir():
        raise SessionNotFound(ref)
    if (root / ref).is_dir() and not ref.startswith("."):
        return _info(root / ref)
    key = ref.lower()
    matches = [f for f in _folders(root) if f.name.lower().startswith(key)]
    if len(matches) != 1:
        raise SessionNotFound(ref, (m.name for m in matches))
    return _info(matches[0])


def create_session(
    name: str | None = None,
    *,
    pause: float = PAUSE,
    flush_interval: float = 1.0,
    keep: bool = True,
) -> Transcript:
    """A new session, recording from now on; on disk from its first text.

    ``keep=False`` records nothing at all (captions only): the transcript lives in memory.
    Nothing touches the disk here; a failure to save raises ``StorageError`` from the
    transcript's ``add_event`` (the text stays in memory).
    """
    if not keep:
        return Transcript(pause=pause)
    root = sessions_dir()
    created = time.time()
    session_id = _new_id(root)
    default = time.strftime("Session %Y-%m-%d %H:%M", time.localtime(created))
    meta = {"id": session_id, "name": one_line(name or "") or default, "created": created}
    sink = _SessionJournal(root / session_id, meta, JournalContents([], 0), flush_interval)
    return Transcript(
        journal=sink, session_id=session_id, name=meta["name"], pause=pause
    )


def reopen_session(
    ref: str,
    *,
    pause: float = PAUSE,
    flush_interval: float = 1.0,
) -> Transcript:
    """Restores a session from its journal and keeps appending to it.

    Raises ``SessionBusy`` while another recorder writes it, ``SessionFormatError`` when a newer
    voxcap saved it.
    """
    info = find_session(ref)
    _check_format(info)
    lock = _SessionLock.take(info.path, info.id, "continue")
    try:
        contents = _records(info.path)
        _update_meta(info.path, closed=False)
        meta = _read_meta(info.path)
        sink = _SessionJournal(info.path, meta, contents, flush_interval, lock, info.duration)
    except BaseException:
        lock.release()
        raise
    return Transcript(
        journal=sink, session_id=info.id, name=info.name, history=contents.records, pause=pause,
    )


def read_session(ref: str, pause: float = PAUSE) -> SessionContents:
    """A session's details and segments, read-only (it may still be recording elsewhere).

    Raises ``SessionFormatError`` when a newer voxcap saved it; damaged records are counted.
    """
    info = find_session(ref)
    _check_format(info)
    contents = _records(info.path)
    segments = Transcript(history=contents.records, pause=pause).segments
    return SessionContents(info, segments, contents.skipped)


def load_segments(ref: str, pause: float = PAUSE) -> list[Segment]:
    """A session's segments, read-only (it may still be recording elsewhere)."""
    return read_session(ref, pause).segments


def rename_session(ref: str, name: str) -> SessionInfo:
    name = one_line(name)
    if not name:
        raise ValueError("a session name cannot be empty")
    info = find_session(ref)
    _check_format(info)
    _update_meta(info.path, name=name)
    return _info(info.path)


def delete_session(ref: str) -> SessionInfo:
    """Removes a session and its journal for good; ``SessionBusy`` while it is being recorded.

    The folder is first renamed out of sight (one atomic step), then removed: a kill in between
    leaves a hidden folder that the next listing clears, never half a session.
    """
    info = find_session(ref)
    lock = _SessionLock.take(info.path, info.id, "delete")
    trash = info.path.with_name(f"{_TRASH}{info.id}-{secrets.token_hex(4)}")
    if os.name == "nt":  # Windows renames no folder holding an open file: a writer that slips
        lock.release()  # in now keeps the rename from happening, which is refused as an error
    try:
        os.rename(info.path, trash)
    finally:
        lock.release()
    shutil.rmtree(trash, ignore_errors=True)
    return info


class _SessionLock:
    """Held by whoever writes a session, from its first text (or reopening) to its close."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    @classmethod
    def take(cls, folder: Path, session_id: str, action: str) -> _SessionLock:
        """The session's lock; ``SessionBusy`` when another writer has it, ``SessionNotFound``
        when the session was deleted meanwhile."""
        try:
            fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:
            raise SessionNotFound(session_id) from None
        if not try_lock(fd):
            os.close(fd)
            raise SessionBusy(session_id, action)
        if not folder.is_dir():  # deleted between opening the lock and taking it
            os.close(fd)
            raise SessionNotFound(session_id)
        return cls(fd)

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing drops the lock on every platform
            self._fd = -1


class _SessionJournal:
    """The session's journal, which also keeps the summary written to meta.json on close.

    A new session has no folder until its first text: records before it (gaps) wait in memory,
    and a session closed without text leaves nothing on disk.
    """

    def __init__(
        self,
        folder: Path,
        meta: dict,
        contents: JournalContents,
        flush_interval: float,
        lock: _SessionLock | None = None,
        recorded: float = 0.0,
    ) -> None:
        self._folder = folder
        self._meta = meta
        self._interval = flush_interval
        self._lock = lock
        self._journal = Journal(folder / JOURNAL, flush_interval) if lock is not None else None
        self._waiting: list[dict] = []  # records before the folder exists
        self._duration, self._sources, _ = _summarise(contents.records)
        self._recorded = recorded  # seconds recorded before this run
        self._opened = time.monotonic()

    def append(self, record: dict) -> None:
        self._note(record)
        if self._journal is not None:
            self._journal.append(record)
            return
        self._waiting.append(record)
        if record.get("type") == "text":
            self._start_on_disk()

    def flush(self) -> None:
        if self._journal is not None:
            self._journal.flush()

    def close(self) -> None:
        if self._journal is None:
            if not any(r.get("type") == "text" for r in self._waiting):
                return  # no text: the session is not kept
            self._start_on_disk()  # the first text could not be saved then: try once more
        try:
            self._journal.close()
            summary = {"closed": True, "duration": self._length(), "sources": self._sources}
            try:
                _update_meta(self._folder, **summary)
            except OSError as exc:
                raise storage_error("save the session summary to", self._folder / META, exc) from exc
        finally:
            if self._lock is not None:
                self._lock.release()

    def _length(self) -> float:
        """Recording time: the wall clock this run was open, added to earlier runs, and at least
        the audio timeline (a file played faster than real time)."""
        recorded = self._recorded + time.monotonic() - self._opened
        return round(max(self._duration, recorded), 3)

    def _start_on_disk(self) -> None:
        """Makes the folder, takes its lock, writes meta.json and the records so far."""
        folder = self._folder
        try:
            folder.parent.mkdir(parents=True, exist_ok=True)
            folder.mkdir()
        except OSError as exc:
            reason = f"cannot create a session in {folder.parent}: {exc.strerror or exc}"
            raise StorageError(
                f"{reason}. Make that folder writable, or point VOXCAP_DATA_DIR at one that is. "
                "The transcript is kept in memory meanwhile.",
                reason,
            ) from exc
        try:
            self._lock = _SessionLock.take(folder, folder.name, "record")
            _write_meta(folder, {**self._meta, "closed": False})
            self._journal = Journal(folder / JOURNAL, self._interval)
        except OSError as exc:
            if self._lock is not None:
                self._lock.release()
                self._lock = None
            shutil.rmtree(folder, ignore_errors=True)  # no empty session is left behind
            if isinstance(exc, StorageError):
                raise
            raise storage_error("save the transcript to", folder, exc) from exc
        waiting, self._waiting = self._waiting, []
        error: StorageError | None = None
        for record in waiting:
            try:
                self._journal.append(record)  # a failed one stays queued in the journal
            except StorageError as exc:
                error = error or exc
        if error is not None:
            raise error

    def _note(self, record: dict) -> None:
        self._duration = max(self._duration, _record_end(record))
        if record["source"] not in self._sources:
            self._sources.append(record["source"])


def session_exists(session_id: str) -> bool:
    """Whether a session with exactly this id is on disk (one without text never is)."""
    return bool(session_id) and not session_id.startswith(".") and (
        sessions_dir() / session_id
    ).is_dir()


def _new_id(root: Path) -> str:
    while True:
        session_id = "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_LENGTH))
        if not (root / session_id).exists():
            return session_id


def _folders(root: Path) -> list[Path]:
    """Session folders: hidden ones are sessions being deleted."""
    return [f for f in root.iterdir() if not f.name.startswith(".") and f.is_dir()]


def _sweep(root: Path) -> None:
    """Finishes deletes that a kill interrupted."""
    for folder in root.glob(_TRASH + "*"):
        shutil.rmtree(folder, ignore_errors=True)


def _check_format(info: SessionInfo) -> None:
    if info.problem:
        raise SessionFormatError(f"session {info.id} {info.problem}")


def _records(folder: Path) -> JournalContents:
    path = folder / JOURNAL
    return read_journal(path) if path.exists() else JournalContents([], 0)


def _record_end(record: dict) -> float:
    if record.get("type") == "gap":
        return float(record["start"]) + float(record["duration"])
    return float(record["end"])


def _summarise(records: list[dict]) -> tuple[float, list[str], float]:
    """(audio end in seconds, source labels in order, latest wall clock) of usable records."""
    duration, sources, wall = 0.0, [], 0.0
    for record in records:
        duration = max(duration, _record_end(record))
        wall = max(wall, float(record["wall"]))
        if record["source"] not in sources:
            sources.append(record["source"])
    return duration, sources, wall


def _info(folder: Path) -> SessionInfo:
    """What listing shows of a session; never raises for damaged contents."""
    meta = _read_meta(folder)
    problem = _format_problem(meta.get("version", FORMAT_VERSION))
    created = meta.get("created")
    if not in_range(created, MAX_WALL):
        created = _mtime(folder)
    duration, sources = meta.get("duration"), meta.get("sources")
    summarised = (
        meta.get("closed") is True
        and in_range(duration, MAX_SECONDS)
        and isinstance(sources, list)
        and all(isinstance(s, str) for s in sources)
    )
    if not summarised and not problem:
        try:
            end, sources, wall = _summarise(_records(folder).records)
            duration = max(end, wall - created) if wall else end
        except OSError:  # listed anyway; reading it will say what is wrong
            duration, sources = 0.0, []
    elif not summarised:
        duration, sources = 0.0, []
    name = meta.get("name")
    return SessionInfo(
        id=folder.name,
        name=one_line(name) if isinstance(name, str) and one_line(name) else folder.name,
        created=float(created),
        duration=float(duration),
        sources=tuple(sources),
        closed=meta.get("closed") is True,
        path=folder,
        recording=_recording(folder),
        problem=problem,
    )


def _format_problem(version: object) -> str:
    if isinstance(version, int) and not isinstance(version, bool) and version <= FORMAT_VERSION:
        return ""
    if isinstance(version, int) and not isinstance(version, bool):
        return (
            f"was saved by a newer version of voxcap (format {version}; this one reads format "
            f"{FORMAT_VERSION}). Update voxcap to open it."
        )
    return f"has an unknown format version ({one_line(repr(version))[:40]}); it cannot be read."



def _mtime(folder: Path) -> float:
    try:
        return folder.stat().st_mtime
    except OSError:
        return 0.0


def _recording(folder: Path) -> bool:
    """Whether a recorder holds the session's lock now (testing it takes it for a moment)."""
    try:
        fd = os.open(folder / LOCK, os.O_RDWR)
    except OSError:
        return False  # no lock file: never recorded by a version that locks, or read-only
    try:
        return not try_lock(fd)
    finally:
        os.close(fd)


def _read_meta(folder: Path) -> dict:
    """meta.json, or {} when it is missing or damaged (the journal is what matters)."""
    try:
        meta = json.loads((folder / META).read_bytes())
    except (OSError, ValueError, RecursionError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _update_meta(folder: Path, **changes: object) -> None:
    meta = _read_meta(folder)
    meta.setdefault("id", folder.name)
    meta.update(changes)
    _write_meta(folder, meta)


def _write_meta(folder: Path, meta: dict) -> None:
    """Replaces meta.json in one step, so a crash leaves the old file or the new one."""
    text = json.dumps({**meta, "version": FORMAT_VERSION}, ensure_ascii=False, indent=2)
    write_atomic(folder / META, text)
