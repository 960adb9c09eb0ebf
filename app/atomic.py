"""Files replaced in one step: a kill, a crash or a full disk leaves the old file or the new one.

Every export, output file, settings file and record voxcap writes goes through ``write_atomic``:
the bytes go to a temporary file beside the target (same folder, so the same disk), are flushed
to the device, and only then renamed over the target. Writing in place would leave a 0-byte or
truncated file where a good one was.
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from pathlib import Path

# Windows opens files in text mode unless told otherwise, which would turn "\n" into "\r\n".
_BINARY = getattr(os, "O_BINARY", 0)


_BLOCK = 1 << 16  # bytes gathered from small chunks before each write


def write_atomic(path: str | Path, data: str | bytes | Iterable[str]) -> None:
    """Replaces ``path`` with ``data`` (str is written as UTF-8) all at once.

    ``data`` may also be an iterable of str chunks, written as they come (a long export is never
    held whole); the file appears only once the last chunk is written, and an exception raised
    by the iterable leaves the previous file as it was. Raises OSError (with ``filename`` set
    to ``path``) when the folder cannot be written or the disk fills; the previous file is then
    untouched and no temporary file is left behind.
    """
    path = Path(path)
    if isinstance(data, (str, bytes)):
        data = [data]
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        # 0o666 before the umask: the same permissions a plain open() would give a new file.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, 0o666)
    except OSError as exc:
        raise _named(exc, path) from exc
    try:
        try:
            pending = bytearray()
            for chunk in data:
                pending += chunk.encode("utf-8") if isinstance(chunk, str) else chunk
                if len(pending) >= _BLOCK:
                    _write_all(fd, pending)
                    pending.clear()
            _write_all(fd, pending)
            os.fsync(fd)
        finally:
            os.close(fd)
        _keep_mode(path, tmp)
        os.replace(tmp, path)
    except OSError as exc:
        _unlink(tmp)
        raise _named(exc, path) from exc
    except BaseException:
        _unlink(tmp)
        raise


def _write_all(fd: int, data: bytearray) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _keep_mode(path: Path, tmp: Path) -> None:
    """A replaced file keeps the permissions its owner gave it."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    os.chmod(tmp, mode & 0o7777)


def _named(exc: OSError, path: Path) -> OSError:
    """The same error, naming the file the caller asked for rather than the temporary one."""
    return type(exc)(exc.errno, exc.strerror or str(exc), str(path))


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
