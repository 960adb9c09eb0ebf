"""A lane's clock mapping and its stuck-stream warning, with a scripted stream."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from app.events import AudioChunk
from app.lane import STALL_PADS, Lane
from app.pipeline import SourceConfig
from engine import Piece


class ScriptedStream:
    """Emits one token per 1280 samples (``token``) and a piece at chosen model times."""

    def __init__(self, token: int, pieces_at: dict[int, Piece]) -> None:
        self.token, self.pieces_at, self.fed, self.tokens = token, pieces_at, 0, []
        self.model = SimpleNamespace(tokenizer=SimpleNamespace(streaming_pad=32))
        self.group = SimpleNamespace(run=self._run)
        self.finished, self._waiting, self._out = False, 0, []

    def append(self, samples):
        self._waiting += len(samples)

    def _run(self):
        for _ in range((self.fed + self._waiting) // 1280 - self.fed // 1280):
            self.tokens.append(self.token)
            if len(self.tokens) in self.pieces_at:
                self._out.append(self.pieces_at[len(self.tokens)])
        self.fed, self._waiting = self.fed + self._waiting, 0

    def take_output(self):
        out, self._out = self._out, []
        return out

    def tokens_from(self, i):
        return self.tokens[i:]

    def finish(self):
        self.finished = True
        return self.take_output()


def lane_with(stream) -> Lane:
    source = SimpleNamespace(level=SimpleNamespace(rms_db=-20.0))
    return Lane(SourceConfig("x", "X"), source, stream)


def decode(lane: Lane, seconds: float = float("inf")):
    lane.push(seconds)
    lane.stream.group.run()
    return lane.collect()


def chunk(t: float, seconds: float, level: float = 0.1) -> AudioChunk:
    return AudioChunk("x", np.full(int(16000 * seconds), level, np.float32), t)


def test_text_after_a_capture_gap_keeps_source_time():
    # A piece describing model-stream second 2.5 .. 2.6 once 40 tokens (3.2 s) were fed.
    lane = lane_with(ScriptedStream(1000, {40: Piece("hi", 2.5, 2.6)}))
    lane.add_audio(chunk(0.0, 2.0))
    lane.add_audio(chunk(12.0, 2.0))  # the source lost 10 s between these chunks
    events = decode(lane, 10.0)
    assert [(e.text, e.start, e.end) for e in events] == [("hi", 12.5, 12.6)]


def test_skip_keeps_newest_audio_and_reports_it():
    lane = lane_with(ScriptedStream(1000, {}))
    lane.add_audio(chunk(0.0, 6.0))
    gaps = []
    lane.catch_up(4.0, gaps.append)
    assert len(gaps) == 1 and gaps[0].t == 0.0 and gaps[0].reason == "skip"
    assert abs(gaps[0].duration - 5.5) < 1e-9 and abs(lane.pending_seconds - 0.5) < 1e-9


def test_stall_is_reported_once_over_loud_audio():
    lane = lane_with(ScriptedStream(32, {}))
    seconds = STALL_PADS * 0.08
    lane.add_audio(chunk(0.0, seconds - 1.0, level=0.1))  # -20 dBFS: speech level
    decode(lane)
    assert lane.stall_warning() is None
    lane.add_audio(chunk(seconds - 1.0, 2.0, level=0.1))
    decode(lane)
    warning = lane.stall_warning()
    assert warning and "stuck" in warning
    assert lane.stall_warning() is None  # once per run


def test_quiet_pads_are_just_silence():
    lane = lane_with(ScriptedStream(32, {}))
    lane.add_audio(chunk(0.0, STALL_PADS * 0.08 + 1.0, level=0.001))  # -60 dBFS
    decode(lane)
    assert lane.stall_warning() is None
