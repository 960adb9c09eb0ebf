"""The append-only session journal: one JSON record per line, durable within a second.

Each record goes to the OS at once (``os.write``), so killing the process loses nothing the OS
already holds; a background thread fsyncs at most ``interval`` seconds after a write, so even a
power cut loses at most that much. A write that fails (disk full, folder gone) keeps the unwritten
bytes, retries them before the next record, and raises ``StorageError`` saying what to do.
Reading skips a torn last line: the one a kill in mid-write leaves behind; it skips and counts
any other damaged record.
"""
from __future__ import annotations

import json
import logging
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

# Windows opens files in text mode unless told otherwise, which would turn "\n" into "\r\n".
_BINARY = getattr(os, "O_BINARY", 0)

MAX_SECONDS = 1e8  # audio time, about three years: anything later is damage
MAX_WALL = 253402300799.0  # 9999-12-31 23:59:59 UTC, the last time a calendar can show
MAX_TEXT = 10_000  # characters in one text record; the model writes a few per step


class StorageError(OSError):
    """The transcript could not be saved to disk; what was recorded is still in memory.

    ``str()`` is the whole message for people; ``reason`` its first part, what failed and why.
    """

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message


def storage_error(action: str, path: Path, exc: OSError) -> StorageError:
    reason = f"cannot {action} {path}: {exc.strerror or exc}"
    err = StorageError(
        f"{reason}. Everything recorded so far is kept in memory; free some disk space or make "
        "the folder writable and it is saved on the next write (or export the transcript now).",
        reason,
    )
    err.errno = exc.errno
    return err


class Journal:
    """Appends records to ``path``; thread-safe."""

    def __init__(self, path: Path, interval: float = 1.0) -> None:
        self.path = path
        self.interval = interval
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._sync_lock = threading.Lock()  # fsync and close never overlap on the same fd
        self._pending = bytearray()  # encoded records the OS has not taken yet
        self._dirty = False  # written but not yet fsynced
        self._closed = False
        self._error: StorageError | None = None  # from the background fsync, raised on next call
        try:
            _drop_torn_tail(path)
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _BINARY, 0o644)
        except OSError as exc:
            raise storage_error("save the transcript to", path, exc) from exc
        self._thread = threading.Thread(target=self._sync_loop, name="journal-sync", daemon=True)
        self._thread.start()

    def append(self, record: dict) -> None:
        """Writes one record; raises StorageError if it (or an earlier one) could not be saved."""
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self._lock:
            if self._closed:
                raise ValueError("the journal is closed")
            self._pending += line.encode()
            self._write_pending()

    def flush(self) -> None:
        """Makes everything appended so far durable now."""
        with self._lock:
            self._write_pending()
            self._dirty = False
        self._sync()
        self._raise_background_error()

    def close(self) -> None:
        """Saves what is left and closes; if that fails it raises, and calling again retries."""
        with self._lock:
            self._closed = True
            self._wake.notify_all()
        self._thread.join()
        with self._lock:
            if self._fd < 0:
                return
            self._write_pending()
        self._sync()
        with self._sync_lock:
            os.close(self._fd)
            self._fd = -1
        self._raise_background_error()

    def _write_pending(self) -> None:
        """Hands pending bytes to the OS. Caller holds ``_lock``."""
        try:
            while self._pending:
                written = os.write(self._fd, self._pending)
                del self._pending[:written]
                if not self._dirty:
                    self._dirty = True
                    self._wake.notify_all()
        except OSError as exc:
            raise storage_error("save the transcript to", self.path, exc) from exc
        self._raise_background_error()

    def _raise_background_error(self) -> None:
        error, self._error = self._error, None
        if error is not None:
            raise error

    def _sync_loop(self) -> None:
        while True:
            with self._lock:
                while not self._dirty and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                # Let writes gather for one interval, then make them durable together.
                self._wake.wait(self.interval)
                if self._closed:
                    return
                self._dirty = False
            self._sync()

    def _sync(self) -> None:
        with self._sync_lock:
            if self._fd < 0:
                return
            try:
                os.fsync(self._fd)
            except OSError as exc:
                self._error = storage_error("save the transcript to", self.path, exc)


def _drop_torn_tail(path: Path) -> None:
    """Cuts a partly written last line, so appending after a crash starts on a clean line."""
    if not path.exists():
        return
    with open(path, "r+b") as f:
        end = pos = f.seek(0, os.SEEK_END)
        keep = 0
        while pos > 0:
            step = min(65536, pos)
            f.seek(pos - step)
            newline = f.read(step).rfind(b"\n")
            if newline >= 0:
                keep = pos - step + newline + 1
                break
            pos -= step
        if keep < end:
            f.truncate(keep)


@dataclass
class JournalContents:
    """The usable records of a journal, and how many damaged ones were left out."""

    records: list[dict]
    skipped: int  # lines that were not JSON, or records with impossible values


def read_journal(path: Path) -> JournalContents:
    """The records in ``path``. A torn last line is dropped silently (a kill in mid-write leaves
    one); any other line that is not a usable record (see ``usable``) is skipped and counted."""
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    contents = JournalContents([], 0)
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):  # deeply nested brackets exhaust the parser's stack
            if number < len(lines):  # the last line is torn by design after a kill
                contents.skipped += 1
            continue
        if usable(record):
            contents.records.append(record)
        else:
            contents.skipped += 1
    if contents.skipped:
        log.warning("skipped %d damaged records in %s", contents.skipped, path)
    return contents


def usable(record: object) -> bool:
    """Whether a journal record has the fields its type needs, with values that can be true.

    Non-finite or absurd numbers (``1e999``, NaN, a date in the year 10**300) and texts longer
    than any one step of the model writes are damage: keeping them would break every export.
    """
    if not isinstance(record, dict) or not isinstance(record.get("source"), str):
        return False
    if not (in_range(record.get("start"), MAX_SECONDS) and in_range(record.get("wall"), MAX_WALL)):
        return False
    if record.get("type") == "gap":
        return in_range(record.get("duration"), MAX_SECONDS)
    if record.get("type") == "text":
        text = record.get("text")
        return isinstance(text, str) and len(text) <= MAX_TEXT and in_range(
            record.get("end"), MAX_SECONDS
        )
    return False


def in_range(value: object, limit: float) -> bool:
    """A real, finite number from 0 to ``limit`` (a damaged record holds anything)."""
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 <= value <= limit
    )
