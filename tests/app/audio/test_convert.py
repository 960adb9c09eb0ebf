"""The pieces behind every source: resampling quality, the clock, the ring, the meter."""
from __future__ import annotations

import numpy as np
import pytest

from app.audio.convert import Converter
from app.audio.level import FLOOR_DB, LevelMeter
from app.audio.ring import FrameRing
from app.audio.wasapi import SilenceClock
from tests.app.audio.support import assert_contiguous, chunks, gaps, samples

SWEEP_ERROR_DB = -60.0  # soxr HQ measures about -77 dB on this sweep


def sweep(rate: int, seconds: float = 3.0, f0: float = 100.0, f1: float = 7000.0) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return np.sin(2 * np.pi * (f0 * t + (f1 - f0) / seconds * t * t / 2)).astype(np.float32)


def feed_in_pieces(conv: Converter, frames: np.ndarray, sizes: list[int]) -> list:
    items, pos, k = [], 0, 0
    while pos < len(frames):
        n = sizes[k % len(sizes)]
        items += conv.feed(frames[pos : pos + n])
        pos, k = pos + n, k + 1
    return items + conv.flush()


@pytest.mark.parametrize("rate", [44100, 48000, 22050])
def test_sweep_resampled_to_16k_within_bound(rate: int) -> None:
    x = sweep(rate)
    stereo = np.stack([x, 0.5 * x], axis=1)  # mix-down averages: 0.75 x
    conv = Converter("mic")
    conv.begin(rate)
    items = feed_in_pieces(conv, stereo, [441, 1000, 37, 4096])
    y = samples(items)
    ref = 0.75 * sweep(16000)
    assert len(y) == len(ref)
    inner = slice(1600, len(ref) - 1600)  # edges carry the filter's start-up
    err = y[inner] - ref[inner]
    err_db = 10 * np.log10(np.mean(err**2) / np.mean(ref[inner] ** 2))
    assert err_db < SWEEP_ERROR_DB
    assert_contiguous(items)


def test_dropped_frames_become_one_exact_gap() -> None:
    conv = Converter("system")
    conv.begin(48000)
    items = conv.feed(np.zeros((48000, 2), np.float32))  # 1 s
    items += conv.skip(24000, "overflow")  # 0.5 s lost
    items += conv.feed(np.zeros((48000, 2), np.float32))
    items += conv.flush()
    assert_contiguous(items)
    (gap,) = gaps(items)
    assert gap.reason == "overflow"
    assert gap.t == pytest.approx(1.0, abs=1 / 16000)
    assert gap.t + gap.duration == pytest.approx(1.5, abs=1e-9)
    assert len(samples(items)) == 32000
    assert conv.time == pytest.approx(2.5)
    assert conv.lost == 8000


def test_new_run_at_later_time_reports_the_hole_and_new_rate() -> None:
    conv = Converter("mic")
    conv.begin(44100)
    first = conv.feed(np.ones((44100, 1), np.float32)) + conv.flush()
    hole = conv.begin(16000, at=conv.position + 16000 * 3, reason="device-lost")
    second = conv.feed(np.ones((1600, 1), np.float32))
    assert len(samples(first)) == 16000
    assert [(g.t, g.duration, g.reason) for g in hole] == [(1.0, 3.0, "device-lost")]
    assert chunks(second)[0].t == 4.0
    assert conv.lost == 0  # only overflow counts as lost to the consumer


def test_ring_keeps_order_and_marks_drops_in_place() -> None:
    ring = FrameRing(capacity=10, channels=1)
    block = np.arange(6, dtype=np.float32)[:, None]
    ring.write(block)  # 6 stored
    ring.write(block + 10)  # 4 fit, 2 dropped
    ring.write(block + 20)  # all 6 dropped
    first = ring.take()
    assert [p if isinstance(p, int) else p[:, 0].tolist() for p in first] == [
        [0, 1, 2, 3, 4, 5, 10, 11, 12, 13],
        8,
    ]
    ring.write(block + 30)  # wraps around the end of the buffer
    (again,) = ring.take()
    assert again[:, 0].tolist() == [30, 31, 32, 33, 34, 35]
    assert ring.dropped == 8


def test_level_meter_reads_a_sine_in_dbfs_twenty_times_a_second() -> None:
    rate = 48000
    t = np.arange(rate) / rate
    sine = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)[:, None]
    meter = LevelMeter()
    meter.reset(rate, 1)
    readings = []
    for start in range(0, rate, 480):  # 10 ms callbacks
        meter.update(sine[start : start + 480])
        if not readings or meter.level is not readings[-1]:
            readings.append(meter.level)
    assert len(readings) - 1 == 20  # the first entry is the initial silence
    assert readings[-1].rms_db == pytest.approx(20 * np.log10(0.5 / np.sqrt(2)), abs=0.05)
    assert readings[-1].peak_db == pytest.approx(20 * np.log10(0.5), abs=0.05)
    meter.update(np.zeros((4800, 1), np.float32))
    assert meter.level.rms_db == FLOOR_DB


def test_silence_clock_fills_only_while_no_packets_come() -> None:
    clock = SilenceClock(rate=1000, start=0.0, slack=0.2)
    clock.delivered(100, now=0.1)
    assert clock.due(now=0.25) == 0  # packets are flowing
    assert clock.due(now=1.0) == 900  # silent since 0.1 s: catch up with the wall clock
    clock.filled(900)
    assert clock.due(now=1.05) == 50
    clock.delivered(10, now=1.06)
    assert clock.due(now=1.1) == 0
