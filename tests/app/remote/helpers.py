"""Helpers for the remote-engine tests: speech-like audio, waiting on a backend's wakeup event."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np


def noise(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.1 * rng.standard_normal(round(seconds * 16000))).astype(np.float32)


def wait_until(check: Callable[[], bool], wakeup: threading.Event, timeout: float = 20.0) -> bool:
    """Wait on ``wakeup`` (set by the backend whenever something arrives) until ``check()``."""
    deadline = time.monotonic() + timeout
    while not check():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        wakeup.wait(min(left, 0.5))
        wakeup.clear()
    return True


def push_all(backend, sid, audio: np.ndarray, chunk: int = 1600) -> None:
    for i in range(0, audio.size, chunk):
        backend.push(sid, audio[i : i + chunk])
