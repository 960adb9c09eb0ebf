"""A non-blocking, whole-file lock that the OS drops when its holder dies.

The model folder and each session being recorded are guarded this way, so a crash never leaves
anything locked and a second process (or a second open in the same process) is told at once.
"""
from __future__ import annotations

import os

if os.name == "nt":
    import msvcrt

    def try_lock(fd: int) -> bool:
        """Locks the open file ``fd``; False when someone else holds it."""
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

else:
    import fcntl

    def try_lock(fd: int) -> bool:
        """Locks the open file ``fd``; False when someone else holds it."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True
