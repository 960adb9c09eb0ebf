"""The bounded buffer between an audio callback and the reader: a preallocated frame ring.

One producer (the device callback) and one consumer (the reader). The producer never blocks and
never allocates beyond a drop record: what does not fit is dropped and its position recorded, so
the reader can turn it into an exact gap. The two sides only share monotonically growing
counters, each written by one side, which CPython updates atomically.
"""
from __future__ import annotations

from collections import deque

import numpy as np


class FrameRing:
    """Fixed-capacity ring of float32 frames shaped (capacity, channels)."""

    def __init__(self, capacity: int, channels: int) -> None:
        self.capacity = capacity
        self.channels = channels
        self.dropped = 0  # frames dropped since creation (producer's count)
        self._buf = np.zeros((capacity, channels), np.float32)
        self._written = 0  # frames stored so far (producer only writes this)
        self._taken = 0  # frames handed to the reader (consumer only writes this)
        self._drops: deque[tuple[int, int]] = deque()  # (frames stored before it, frames lost)

    def write(self, frames: np.ndarray) -> None:
        """Store ``frames`` (n, channels) or as much as fits; never blocks."""
        n = len(frames)
        fit = min(n, self.capacity - (self._written - self._taken))
        if fit > 0:
            start = self._written % self.capacity
            first = min(fit, self.capacity - start)
            self._buf[start : start + first] = frames[:first]
            self._buf[: fit - first] = frames[first:fit]
            self._written += fit
        if fit < n:
            self._drops.append((self._written, n - fit))
            self.dropped += n - fit

    def take(self) -> list[np.ndarray | int]:
        """Everything pending, in order: arrays of frames, and ints counting dropped frames."""
        end = self._written
        pos = self._taken
        out: list[np.ndarray | int] = []
        while self._drops and self._drops[0][0] <= end:
            at, lost = self._drops.popleft()
            if at > pos:
                out.append(self._copy(pos, at))
                pos = at
            if out and isinstance(out[-1], int):
                out[-1] += lost
            else:
                out.append(lost)
        if end > pos:
            out.append(self._copy(pos, end))
        self._taken = end
        return out

    def _copy(self, begin: int, end: int) -> np.ndarray:
        start = begin % self.capacity
        n = end - begin
        if start + n <= self.capacity:
            return self._buf[start : start + n].copy()
        first = self.capacity - start
        return np.concatenate([self._buf[start:], self._buf[: n - first]])
