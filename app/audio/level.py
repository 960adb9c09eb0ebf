"""Level meter: RMS and peak in dBFS over windows of 50 ms, about 20 readings a second.

Fed by the producer side (the audio callback) so the meter stays live even while the consumer
is busy; read from any thread. A reading is one immutable tuple swapped in whole.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

FLOOR_DB = -100.0  # what silence (and a stopped source) reads
WINDOW_S = 0.05


class Level(NamedTuple):
    rms_db: float
    peak_db: float


SILENT = Level(FLOOR_DB, FLOOR_DB)


def to_db(amplitude: float) -> float:
    """Amplitude (1.0 = full scale) as dBFS, floored at FLOOR_DB."""
    return 20.0 * math.log10(amplitude) if amplitude > 10 ** (FLOOR_DB / 20) else FLOOR_DB


class LevelMeter:
    """Accumulates frames and publishes a Level once per window."""

    def __init__(self) -> None:
        self.level = SILENT
        self._window = 1  # samples (frames x channels) per reading
        self._sum_sq = 0.0
        self._peak = 0.0
        self._count = 0

    def reset(self, rate: float, channels: int) -> None:
        """Start metering a new stream at ``rate`` Hz with ``channels`` channels."""
        self.level = SILENT
        self._window = max(1, int(rate * WINDOW_S) * channels)
        self._sum_sq = self._peak = 0.0
        self._count = 0

    def update(self, frames: np.ndarray) -> None:
        """Add frames (any shape); cheap enough for an audio callback (no large temporaries)."""
        flat = frames.reshape(-1)
        if len(flat) == 0:
            return
        self._sum_sq += float(np.vdot(flat, flat))
        self._peak = max(self._peak, float(flat.max()), -float(flat.min()))
        self._count += len(flat)
        if self._count >= self._window:
            self.level = Level(to_db(math.sqrt(self._sum_sq / self._count)), to_db(self._peak))
            self._sum_sq = self._peak = 0.0
            self._count = 0
