"""A file played as if live: paced at real time or as fast as it is read, same samples either way."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from app.audio import EndOfStream, SourceUnavailable, open_source
from tests.app.audio.support import (
    assert_contiguous,
    gaps,
    gather,
    has_end,
    samples,
    write_tone,
)


def expected_16k(path: Path) -> np.ndarray:
    data, rate = sf.read(path, dtype="float32", always_2d=True)
    return soxr.resample(data.mean(axis=1), rate, 16000)


def test_fast_file_delivers_the_whole_file_at_once_then_ends(tmp_path: Path) -> None:
    path = write_tone(tmp_path / "tone.wav", 440, seconds=2.5, rate=44100)
    wakeup = threading.Event()
    src = open_source(str(path), realtime=False, wakeup=wakeup)
    assert src.id == "tone.wav"
    began = time.monotonic()
    src.start()
    assert wakeup.is_set()
    items = gather(src, has_end)
    elapsed = time.monotonic() - began
    assert elapsed < 1.0
    assert_contiguous(items)
    got = samples(items)
    np.testing.assert_allclose(got, expected_16k(path), atol=1e-4)
    assert items[-1] == EndOfStream("tone.wav", 2.5)
    assert src.finished and src.read(5.0) == []  # at once, not after 5 s


def test_realtime_file_is_paced_by_the_clock(tmp_path: Path) -> None:
    path = write_tone(tmp_path / "tone.flac", 1000, seconds=1.0, rate=48000, channels=1)
    src = open_source(str(path), realtime=True)
    began = time.monotonic()
    with src:
        first = gather(src, lambda items: len(samples(items)) > 0)
        first_after = time.monotonic() - began
        items = first + gather(src, has_end)
    elapsed = time.monotonic() - began
    assert first_after < 0.3
    assert 0.95 < elapsed < 1.5
    np.testing.assert_allclose(samples(items), expected_16k(path), atol=1e-4)
    assert not gaps(items)


def test_realtime_file_counts_what_a_stalled_consumer_lost(tmp_path: Path) -> None:
    path = write_tone(tmp_path / "tone.wav", 300, seconds=1.5, rate=16000, channels=1)
    src = open_source(str(path), realtime=True, buffer_seconds=0.25)
    src.start()
    time.sleep(1.0)  # the consumer stalls: this is the behaviour under test
    items = gather(src, has_end)
    assert_contiguous(items)
    lost = gaps(items)
    assert lost and {g.reason for g in lost} == {"overflow"}
    assert src.dropped_seconds == pytest.approx(sum(g.duration for g in lost))
    assert 0.5 < src.dropped_seconds < 0.9  # ~1.0 s stalled minus the 0.25 s buffer
    assert len(samples(items)) / 16000 + src.dropped_seconds == pytest.approx(1.5)
    assert items[-1].t == pytest.approx(1.5)


def test_stopped_file_resumes_where_it_left_off(tmp_path: Path) -> None:
    path = write_tone(tmp_path / "tone.wav", 500, seconds=1.0, rate=16000, channels=1)
    src = open_source(str(path), realtime=False)
    src.start()
    part = gather(src, lambda items: len(samples(items)) > 0)
    src.stop()
    part += gather(src, has_end)
    src.start()
    rest = gather(src, has_end)
    assert_contiguous([i for i in part + rest if not isinstance(i, EndOfStream)])
    whole = np.concatenate([samples(part), samples(rest)])
    np.testing.assert_allclose(whole, expected_16k(path), atol=1e-4)


def test_unreadable_file_says_what_to_do(tmp_path: Path) -> None:
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio")
    src = open_source(str(bad))
    with pytest.raises(SourceUnavailable, match="cannot be read as audio"):
        src.start()
    assert not src.running
    with pytest.raises(SourceUnavailable, match="mic, mic:NAME, system"):
        open_source(str(tmp_path / "missing.wav"))
