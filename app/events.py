"""The plain values that cross the boundaries between capture, pipeline, transcript and views.

Every thread hands these to the next layer; none of them holds a reference to Qt, torch or a
device. Times called ``t``/``start``/``end`` are audio-stream seconds of the source they belong
to (sample-exact clock starting at 0 when the source opened); ``wall`` is ``time.time()``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

SAMPLE_RATE = 16000  # Hz: every source delivers, and every backend takes, 16 kHz mono


@dataclass(frozen=True)
class AudioChunk:
    source_id: str  # "mic", "system", a file name ...
    samples: np.ndarray  # float32, 16 kHz mono, shape (n,)
    t: float  # stream time of samples[0], seconds


class GapReason(StrEnum):
    OVERFLOW = "overflow"  # capture fell behind
    SKIP = "skip"  # decoding fell behind; the oldest audio was skipped to catch up
    DEVICE_LOST = "device-lost"  # the device went away and came back
    PAUSED = "paused"  # the source was stopped by the user
    ENGINE = "engine"  # the backend lost audio it had been given (a dropped connection)


@dataclass(frozen=True)
class Gap:
    source_id: str
    t: float  # stream time where audio is missing, seconds
    duration: float  # seconds of audio missing
    reason: GapReason  # its plain value is taken too, and made a GapReason
    label: str = ""  # what people read for the source; set by the pipeline, "" from capture

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", GapReason(self.reason))  # ValueError for a typo


@dataclass(frozen=True)
class TextEvent:
    source_id: str
    label: str  # what people read next to the text ("Me", "Them", a file name)
    text: str  # may be part of a word; text only ever grows, never rewritten
    start: float  # audio seconds
    end: float  # audio seconds
    wall: float  # time.time() when the text was produced


@dataclass(frozen=True)
class Piece:
    text: str
    start: float
    end: float


@dataclass
class Segment:
    source: str  # label shown to the user ("Me", "Them")
    start: float
    end: float
    text: str
    pieces: list[Piece] = field(default_factory=list)
    wall_start: float = 0.0
    wall_end: float = 0.0
    kind: str = "speech"  # or "gap": audio was missing; text is the marker ("[4.2 s skipped]")


class SourceState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    ERROR = "error"  # the source or the backend is in trouble; ``error`` says why


@dataclass(frozen=True)
class SourceStatus:
    source_id: str
    label: str
    lag: float  # seconds of audio captured but not yet decoded
    rtf: float  # real-time factor: compute seconds per audio second (< 1 keeps up)
    level_db: float  # RMS level, dBFS
    state: SourceState
    error: str = ""


@dataclass(frozen=True)
class DownloadProgress:
    file: str
    done: int  # bytes
    total: int  # bytes
    rate: float  # bytes per second
    eta: float  # seconds left, inf when unknown
    state: str  # "downloading", "verifying", "copying" (import), "ready", "cancelled", "error"
