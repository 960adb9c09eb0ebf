"""The stuck-stream warning: thousands of steps without text over audio loud enough to be speech.

A model stream can get stuck writing only padding while people talk. Normal silences give runs
of 25 to 165 steps without text; a run of ``STALL_STEPS`` (80 s) over audio whose mean level is
above ``STALL_SPEECH_DB`` is reported once, so the user can restart it (changing the delay does).
"""
from __future__ import annotations

import math

import numpy as np

STALL_STEPS = 1000  # 80 s of 80 ms steps without text
STALL_SPEECH_DB = -40.0  # mean level of the run above which silence is not the reason


class StallDetector:
    def __init__(self, step_seconds: float, limit: int = STALL_STEPS) -> None:
        self.step_seconds = step_seconds
        self.limit = limit
        self._run = 0  # steps since the last text
        self._energy, self._samples = 0.0, 0  # sum of squares and count over the run's audio
        self._warned = False

    def add_audio(self, samples: np.ndarray) -> None:
        """Audio given to the stream (float32, (n,)); its level decides what silence is."""
        self._energy += float(np.dot(samples, samples))
        self._samples += samples.size

    def add_steps(self, steps: int, wrote_text: bool) -> None:
        """``steps`` decoded since the last call; ``wrote_text`` when any of them wrote text."""
        if wrote_text:
            self._run, self._energy, self._samples, self._warned = 0, 0.0, 0, False
        else:
            self._run += steps

    def warning(self) -> str | None:
        """Once per run: a long run without text over loud audio, in words for people."""
        if self._warned or self._run < self.limit or not self._samples:
            return None
        level = 10 * math.log10(max(self._energy / self._samples, 1e-12))
        if level < STALL_SPEECH_DB:
            return None
        self._warned = True
        return (
            f"no text for {self._run * self.step_seconds:.0f} s while the audio was as loud as "
            f"speech ({level:.0f} dBFS on average). Changing the delay restarts captioning."
        )
