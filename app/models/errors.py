"""The model manager's errors: each message says what went wrong and what the user can do.

Callers (the GUI's model dialog, ``voxcap model``) show ``str(error)`` as it is; none of these
is a programming error, so none should reach the user as a stack trace.
"""
from __future__ import annotations

import errno
from pathlib import Path


class ModelError(Exception):
    """Base of every error the model manager raises on purpose."""


class NoNetworkError(ModelError):
    """The Hub could not be reached (no connection, offline mode, connection lost for good)."""


class GatedError(ModelError):
    """The repository refused access: its terms must be accepted and the user logged in."""


class HubError(ModelError):
    """The Hub (or the server HF_ENDPOINT points to) answered with an error."""


class DiskFullError(ModelError):
    """Not enough free space for what is left to download or copy."""


class DamagedError(ModelError):
    """One or more files do not match their pinned size or sha256."""

    def __init__(self, message: str, files: tuple[str, ...] = ()):
        super().__init__(message)
        self.files = files


class NotReadyError(ModelError):
    """The model is not (or no longer) complete and verified."""


class BadFolderError(ModelError):
    """A folder given for import is not usable (missing, not a folder, files absent)."""


class BusyError(ModelError):
    """Another download, verification or import of this model is running."""


class Cancelled(ModelError):
    """The caller's cancel event was set; what was downloaded so far is kept."""


def write_error(e: OSError, path: Path) -> ModelError:
    """What to tell a user when writing ``path`` failed with ``e``."""
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFullError(f"The disk filled up while writing {path}. Free up space and try again.")
    return ModelError(f"Cannot write {path}: {e.strerror or e}. Check the folder's permissions.")
