"""A lost device comes back by itself: the source state machine, with a fake device injected.

The PulseAudio tests (test_pulse_capture.py) unplug a real null sink; these cover the same
contract without a sound server, and the paths a server makes hard to reach: start() while the
device is away, a retry that fails.
"""
from __future__ import annotations

import threading

import numpy as np
import pytest

from app.audio import EndOfStream, SourceError, SourceUnavailable
from app.audio.source import Source
from tests.app.audio.support import assert_contiguous, gaps, gather, has_audio, has_end


class FakeMic(Source):
    """A device that can be unplugged; the test speaks into it from its own thread."""

    def __init__(self) -> None:
        super().__init__("mic", "fake mic", reconnect_s=0.01)
        self.plugged = threading.Event()
        self.plugged.set()
        self.opened = 0

    def _open(self) -> tuple[float, int]:
        if not self.plugged.is_set():
            raise SourceUnavailable("fake mic is unplugged")
        self.opened += 1
        return 16000.0, 1

    def _begin(self) -> None:
        pass

    def _close(self) -> None:
        pass

    def speak(self, seconds: float) -> None:
        self._push(np.full((round(16000 * seconds), 1), 0.1, np.float32))

    def unplug(self) -> None:
        self.plugged.clear()
        self._fail("fake mic unplugged")


def has_error(items: list) -> bool:
    return any(isinstance(i, SourceError) for i in items)


def test_reopened_by_itself_with_the_time_away_as_a_gap() -> None:
    mic = FakeMic()
    mic.start()
    mic.speak(0.5)
    items = gather(mic, has_audio)
    mic.unplug()
    items += gather(mic, has_error)
    error = items[-1]
    assert error.retrying and error.reason == "fake mic unplugged" and error.t == 0.5
    assert not mic.running and not mic.finished

    mic.plugged.set()
    items += gather(mic, lambda _: mic.running)  # reopened without start()
    assert mic.opened == 2
    mic.speak(0.25)
    items += gather(mic, has_audio)
    hole = gaps(items)[0]
    assert hole.reason == "device-lost" and hole.t == 0.5 and hole.duration > 0
    assert_contiguous(items)
    mic.stop()
    assert isinstance(gather(mic, has_end)[-1], EndOfStream)


def test_start_while_away_tries_at_once() -> None:
    mic = FakeMic()
    mic.start()
    mic.speak(0.1)
    mic.unplug()
    gather(mic, has_error)
    with pytest.raises(SourceUnavailable, match="unplugged"):
        mic.start()
    assert not mic.running and not mic.finished  # still waiting for the device
    mic.plugged.set()
    mic.start()
    assert mic.running
    mic.stop()
    items = gather(mic, has_end)
    assert isinstance(items[-1], EndOfStream) and mic.finished

