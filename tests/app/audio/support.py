"""Helpers for the capture tests: sinks, tones, playback, and reading a source until done."""
from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from app.audio import EndOfStream, Item, Source, SourceError
from app.events import AudioChunk, Gap


def load_null_sink(name: str) -> str:
    """Load a null sink; returns the module id to unload."""
    return subprocess.run(
        ["pactl", "load-module", "module-null-sink", f"sink_name={name}",
         f"sink_properties=device.description={name}"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()


def unload(module: str) -> None:
    subprocess.run(["pactl", "unload-module", module], capture_output=True, check=False)


def write_tone(path: Path, freq: float, seconds: float, rate: int = 44100,
               amplitude: float = 0.5, channels: int = 2) -> Path:
    t = np.arange(round(seconds * rate)) / rate
    tone = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    subtype = "FLOAT" if path.suffix == ".wav" else None  # FLAC holds integers only
    sf.write(path, np.repeat(tone[:, None], channels, axis=1), rate, subtype=subtype)
    return path


def play(path: Path, sink: str) -> subprocess.Popen:
    """Start playing ``path`` into ``sink``; the caller waits on the process."""
    return subprocess.Popen(["paplay", "-d", sink, str(path)], stderr=subprocess.PIPE)


def gather(source: Source, until: Callable[[list[Item]], bool], timeout: float = 10.0) -> list[Item]:
    """Read ``source`` until ``until(items)`` holds; fails the test after ``timeout`` s."""
    items: list[Item] = []
    deadline = time.monotonic() + timeout
    while not until(items):
        left = deadline - time.monotonic()
        assert left > 0, f"gave up after {timeout} s with {summary(items)}"
        items += source.read(min(left, 0.5))
    return items


def has_audio(items: list[Item]) -> bool:
    return any(isinstance(i, AudioChunk) for i in items)


def has_end(items: list[Item]) -> bool:
    return any(isinstance(i, EndOfStream | SourceError) for i in items)


def chunks(items: list[Item]) -> list[AudioChunk]:
    return [i for i in items if isinstance(i, AudioChunk)]


def gaps(items: list[Item]) -> list[Gap]:
    return [i for i in items if isinstance(i, Gap)]


def assert_contiguous(items: list[Item]) -> None:
    """Each chunk or gap starts exactly where the previous one ended (sample-exact clock)."""
    end = None
    for item in items:
        if isinstance(item, AudioChunk):
            start, length = item.t, len(item.samples) / 16000
        elif isinstance(item, Gap):
            start, length = item.t, item.duration
        else:
            continue
        if end is not None:
            assert abs(start - end) < 1e-9, f"{item} does not follow {end}"
        end = start + length


def samples(items: list[Item]) -> np.ndarray:
    found = chunks(items)
    return np.concatenate([c.samples for c in found]) if found else np.zeros(0, np.float32)


def summary(items: list[Item]) -> str:
    kinds = {}
    for i in items:
        kinds[type(i).__name__] = kinds.get(type(i).__name__, 0) + 1
    return str(kinds)
