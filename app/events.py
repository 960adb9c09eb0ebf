"""The plain values that cross the boundaries between capture, pipeline, transcript and views.

Every thread hands these to the next layer; none of them holds a reference to Qt, torch or a
device. Times called ``t``/``start``/``end`` are audio-stream seconds of the source they belong
to (sample-exact clock starting at 0 when the source opened); ``wall`` is ``time.time()``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SAMPLE_RATE = 16000  # Hz: every source delivers, and every backend takes, 16 kHz mono


@dataclass(frozen=True)
class AudioChunk:
    source: str  # source id ("mic", "system", a file name ...)
    samples: np.ndarray  # float32, 16 kHz mono, shape (n,)
    t: float  # stream time of samples[0], seconds


@dataclass(frozen=True)
class Gap:
    source: str
    t: float  # stream time where audio is missing, seconds
    duration: float  # seconds of audio missing
    reason: str  # "overflow" (capture fell behind), "skip" (catch-up), "device-lost", "paused"


@dataclass(frozen=True)
class TextEvent:
    source: str
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


@dataclass(frozen=True)
class SourceStatus:
    source: str
    lag: float  # seconds of audio captured but not yet decoded
    rtf: float  # real-time factor: compute seconds per audio second (< 1 keeps up)
    level_db: float  # RMS level, dBFS
    state: str  # "running", "paused", "error"
    error: str = ""


@dataclass(frozen=True)
class DownloadProgress:
    file: str
    done: int  # bytes
    total: int  # bytes
    rate: float  # bytes per second
    eta: float  # seconds left, inf when unknown
    state: str  # "downloading", "verifying", "copying" (import), "ready", "cancelled", "error"
