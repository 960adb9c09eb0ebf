"""Audio as callers hand it in -> the float32 samples the features need, repaired and counted.

Accepted dtypes (the usual PCM conventions): float32 and float64 as they are; int16 / 32768,
int32 / 2147483648, uint8 as (x - 128) / 128. Any other dtype is a TypeError naming it, rather
than samples 32768 times too loud. Samples that are not finite (NaN, inf) become silence and
values outside [-1, 1] are clipped: one NaN would otherwise turn every later feature into NaN
and the transcript into nothing. Both are counted, so callers can say so once.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_INT_SCALE = {np.dtype(np.int16): 32768.0, np.dtype(np.int32): 2147483648.0}
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


@dataclass(frozen=True)
class Repairs:
    """Samples changed on the way in, counted over a stream's life."""

    non_finite: int = 0  # NaN or infinite samples, made silent
    clipped: int = 0  # finite samples outside [-1, 1], clipped to it

    def __add__(self, other: Repairs) -> Repairs:
        return Repairs(self.non_finite + other.non_finite, self.clipped + other.clipped)

    def __bool__(self) -> bool:
        return bool(self.non_finite or self.clipped)

    def message(self) -> str:
        """In words for people, e.g. for a warning line."""
        parts = []
        if self.non_finite:
            parts.append(f"{self.non_finite} samples were not numbers (NaN or infinite) and "
                         "were made silent")
        if self.clipped:
            parts.append(f"{self.clipped} samples were outside -1..1 and were clipped")
        return "; ".join(parts) + ": the audio may be damaged."


def to_samples(samples: object) -> tuple[np.ndarray, Repairs]:
    """``samples`` (shape (n,), a dtype above) -> float32 (n,) in [-1, 1], and what changed.

    Raises ValueError for any other shape, TypeError for any other dtype.
    """
    x = np.asarray(samples)
    if x.ndim != 1:
        raise ValueError(f"audio must be 1-D mono samples; got shape {x.shape}")
    if x.dtype in _INT_SCALE:
        return (x / _INT_SCALE[x.dtype]).astype(np.float32), Repairs()
    if x.dtype == np.uint8:
        return ((x.astype(np.float32) - 128.0) / 128.0), Repairs()
    if x.dtype not in _FLOATS and not (x.size == 0 and x.dtype.kind in "iuf"):
        raise TypeError(
            f"audio samples of dtype {x.dtype} are not supported: pass float32 or float64 in "
            "[-1, 1], or int16, int32 or uint8 PCM."
        )
    x = x.copy()  # in its own dtype, so a float64 1e300 is clipped rather than made infinite
    bad = ~np.isfinite(x)
    non_finite = int(np.count_nonzero(bad))
    if non_finite:
        x[bad] = 0.0
    loud = np.abs(x) > 1.0
    clipped = int(np.count_nonzero(loud))
    if clipped:
        np.clip(x, -1.0, 1.0, out=x)
    return x.astype(np.float32, copy=False), Repairs(non_finite, clipped)
