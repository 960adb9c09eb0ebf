"""Turns byte counts into ``DownloadProgress`` events with a rate and the time left.

The rate is measured over the last few seconds, so it follows a connection that speeds up or
slows down, and counts only bytes moved in this run (resumed bytes are not a speed). Events are
spaced at least ``interval`` apart so a fast disk or link does not flood the GUI.
"""
from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from app.events import DownloadProgress

ProgressCallback = Callable[[DownloadProgress], None]

WINDOW_S = 5.0  # how far back the rate looks


class Meter:
    def __init__(
        self,
        file: str,
        total: int,
        state: str,
        callback: ProgressCallback | None,
        done: int = 0,
        interval: float = 0.2,
    ):
        self.file, self.total, self.state = file, total, state
        self.done = done
        self._callback = callback
        self._interval = interval
        self._samples: deque[tuple[float, int]] = deque([(time.monotonic(), done)])
        self._last_emit = -math.inf
        self._emit(time.monotonic())

    def update(self, done: int) -> None:
        self.done = done
        now = time.monotonic()
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[1][0] > WINDOW_S:
            self._samples.popleft()
        if now - self._last_emit >= self._interval or done == self.total:
            self._emit(now)

    def finish(self, state: str) -> None:
        """The last event for this file: ``ready``, ``cancelled`` or ``error``."""
        self.state = state
        self._emit(time.monotonic())

    def rate(self) -> float:
        (t0, d0), (t1, d1) = self._samples[0], self._samples[-1]
        return (d1 - d0) / (t1 - t0) if t1 > t0 else 0.0

    def _emit(self, now: float) -> None:
        self._last_emit = now
        if self._callback is None:
            return
        rate = self.rate()
        left = self.total - self.done
        eta = 0.0 if left <= 0 else (left / rate if rate > 0 else math.inf)
        self._callback(DownloadProgress(self.file, self.done, self.total, rate, eta, self.state))


def human_size(n: float) -> str:
    """Bytes as people read them: "950 bytes", "14.9 MB", "8.9 GB" (powers of 1000, like disks)."""
    if n < 1000:
        return f"{n:.0f} bytes"
    for unit in ("KB", "MB", "GB"):
        n /= 1000
        if n < 1000:
            break
    return f"{n:.1f} {unit}"
