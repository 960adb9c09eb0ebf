"""A sound file played as if it were live: paced at real time, or as fast as the consumer reads.

Paced, a thread hands 20 ms blocks to the ring on the wall clock, exactly like a device
callback, so a consumer that falls behind loses audio the same way (overflow gaps). Fast, the
reader decodes the next second on every read and nothing is ever dropped. Either way the stream
clock is the file's own time, and the run ends with EndOfStream when the file is played out.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from app.audio.decode import FILE_BLOCK_S, AudioFile, open_audio
from app.audio.source import DEFAULT_BUFFER_S, Item, Source

BLOCK_S = 0.02  # paced delivery granularity, like a device period


class FileSource(Source):
    """Any file with audio in it: what libsndfile reads, and what FFmpeg reads (``decode``)."""

    live = False  # the file's clock stands still while it is stopped

    def __init__(
        self,
        path: Path,
        *,
        realtime: bool = True,
        buffer_seconds: float = DEFAULT_BUFFER_S,
        wakeup: threading.Event | None = None,
    ) -> None:
        super().__init__(path.name, str(path), buffer_seconds=buffer_seconds, wakeup=wakeup)
        self.realtime = realtime
        self._path = path
        self._file: AudioFile | None = None
        self._frames_read = 0  # where a reopened run resumes
        self._stop = threading.Event()
        self._pacer: threading.Thread | None = None

    def _open(self) -> tuple[float, int]:
        self._file = open_audio(self._path, self._frames_read)  # SourceUnavailable, NoAudio
        return self._file.rate, self._file.channels

    def _begin(self) -> None:
        if self.realtime:
            self._stop.clear()
            self._pacer = threading.Thread(target=self._pace, name=f"pace {self.id}", daemon=True)
            self._pacer.start()
        else:
            self._signal()  # the whole file is ready at once

    def _close(self) -> None:
        self._stop.set()
        if self._pacer is not None:
            self._pacer.join()
            self._pacer = None
        if self._file is not None:
            self._file.close()

    def _read(self, frames: int) -> np.ndarray:
        block = self._file.read(frames)
        self._frames_read += len(block)
        return block

    def _pace(self) -> None:
        """Deliver each block when the wall clock reaches it (producer thread)."""
        rate = self._file.rate
        block = max(1, round(rate * BLOCK_S))
        t0 = time.monotonic()
        sent = 0
        while not self._stop.wait(max(0.0, t0 + (sent + block) / rate - time.monotonic())):
            due = max(block, int((time.monotonic() - t0) * rate) - sent)  # catch up if late
            frames = self._read(due)
            if len(frames):
                self._push(frames)
                sent += len(frames)
            if len(frames) < due:
                self._finish()
                return

    def _drain(self) -> list[Item]:
        if self.realtime:
            return super()._drain()
        if self._end_reason is not None or self._file is None or self._file.closed:
            return []
        want = round(self._file.rate * FILE_BLOCK_S)
        frames = self._read(want)
        self._meter.update(frames)
        if len(frames) < want:
            self._finish()
        else:
            self._signal()  # the next block is ready too
        return list(self._converter.feed(frames)) if len(frames) else []
