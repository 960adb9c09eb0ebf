"""A lane's clock mapping and the stuck-stream warning, with a scripted backend."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from app.events import AudioChunk, Piece
from app.live.backend import Taken
from app.live.lane import Lane, SourceConfig
from app.live.stall import STALL_STEPS
from tests.app.live.fakes import ScriptedBackend


def lane_with(backend: ScriptedBackend) -> Lane:
    source = SimpleNamespace(id="x", level=SimpleNamespace(rms_db=-20.0))
    step = backend.capabilities.step_samples
    return Lane(SourceConfig("x", "X"), source, backend.open(480), step)


def decode(backend: ScriptedBackend, lane: Lane, seconds: float = float("inf")):
    backend.push(lane.stream, lane.take_audio(seconds))
    backend.advance()
    return lane.stamp(backend.take(lane.stream))


def chunk(t: float, seconds: float, level: float = 0.1) -> AudioChunk:
    return AudioChunk("x", np.full(int(16000 * seconds), level, np.float32), t)


def test_text_after_a_capture_gap_keeps_source_time():
    # A piece describing stream second 2.5 .. 2.6 once 40 steps (3.2 s) were decoded.
    backend = ScriptedBackend({40: Piece("hi", 2.5, 2.6)})
    lane = lane_with(backend)
    lane.add_audio(chunk(0.0, 2.0))
    lane.add_audio(chunk(12.0, 2.0))  # the source lost 10 s between these chunks
    texts, gaps = decode(backend, lane, 10.0)
    assert [(e.text, e.start, e.end) for e in texts] == [("hi", 12.5, 12.6)]
    assert [(e.source_id, e.label) for e in texts] == [("x", "X")] and not gaps


def test_skip_keeps_newest_audio_and_reports_it():
    lane = lane_with(ScriptedBackend())
    lane.add_audio(chunk(0.0, 6.0))
    gap = lane.catch_up(4.0)
    assert gap is not None and gap.t == 0.0 and gap.reason == "skip"
    assert (gap.source_id, gap.label) == ("x", "X")
    assert abs(gap.duration - 5.5) < 1e-9 and abs(lane.pending_seconds - 0.5) < 1e-9
    assert lane.catch_up(4.0) is None


def test_audio_the_backend_lost_is_a_gap_on_the_source_clock():
    lane = lane_with(ScriptedBackend())
    lane.add_audio(chunk(0.0, 1.0))
    lane.add_audio(chunk(5.0, 1.0))  # 4 s away between the chunks
    lane.take_audio(float("inf"))
    _, gaps = lane.stamp(Taken(lost=[(1.5, 0.25)]))
    assert [(g.t, g.duration, g.reason, g.label) for g in gaps] == [(5.5, 0.25, "engine", "X")]


def test_stall_is_reported_once_over_loud_audio():
    backend = ScriptedBackend()
    lane = lane_with(backend)
    seconds = STALL_STEPS * 0.08
    lane.add_audio(chunk(0.0, seconds - 1.0, level=0.1))  # -20 dBFS: speech level
    decode(backend, lane)
    assert lane.stall.warning() is None
    lane.add_audio(chunk(seconds - 1.0, 2.0, level=0.1))
    decode(backend, lane)
    warning = lane.stall.warning()
    # What was observed (81 s without text over -20 dBFS audio), not a guess at the cause.
    assert warning and "no text for 81 s" in warning and "-20 dBFS" in warning
    assert "may be" not in warning
    assert lane.stall.warning() is None  # once per run


def test_quiet_pads_are_just_silence():
    backend = ScriptedBackend()
    lane = lane_with(backend)
    lane.add_audio(chunk(0.0, STALL_STEPS * 0.08 + 1.0, level=0.001))  # -60 dBFS
    decode(backend, lane)
    assert lane.stall.warning() is None


def test_text_ends_a_run_without_text():
    backend = ScriptedBackend({STALL_STEPS - 10: Piece(" word", 70.0, 70.1)})
    lane = lane_with(backend)
    lane.add_audio(chunk(0.0, STALL_STEPS * 0.08 + 2.0, level=0.1))
    for _ in range(int(STALL_STEPS * 0.08 + 2.0)):  # one second a turn, as the pipeline does
        decode(backend, lane, 1.0)
    assert lane.stall.warning() is None
