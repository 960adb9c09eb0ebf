"""The live transcript: segments of every source in time order, saved as they grow.

The pipeline calls ``add_event``/``add_gap`` from its worker thread; views read ``segments`` or
subscribe to changes from any thread. Each change is also appended to the session journal when
there is one. Records hold times already placed on the session's timeline, so replaying a journal
rebuilds exactly the segments that were live.
"""
from __future__ import annotations

import bisect
import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, Self

from app.events import Gap, Segment, TextEvent
from app.transcript.segmenter import PAUSE, Change, SourceSegmenter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SegmentChange:
    """A segment was added at ``index`` (``added``) or the one at ``index`` grew."""

    index: int
    segment: Segment  # a copy: safe to keep and read on any thread
    added: bool


Listener = Callable[[SegmentChange], None]


class RecordSink(Protocol):
    def append(self, record: dict) -> None: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...


class Transcript:
    """Thread-safe. Without a ``journal`` it lives in memory only (e.g. a file transcription).

    ``history`` replays journal records; new events then continue after its end, because a
    reopened session's audio clock starts again at 0. Storage failures raise ``StorageError``
    from ``add_event``/``add_gap``/``flush``/``close`` after memory has been updated.
    """

    def __init__(
        self,
        *,
        journal: RecordSink | None = None,
        session_id: str | None = None,
        name: str | None = None,
        history: Iterable[dict] = (),
        pause: float = PAUSE,
    ) -> None:
        self.session_id = session_id
        self.name = name  # the session's name when it started (a rename changes only the disk)
        self.pause = pause
        self._lock = threading.RLock()
        self._sources: dict[str, SourceSegmenter] = {}
        self._segments: list[Segment] = []
        self._keys: list[tuple[float, int]] = []  # (start, arrival) of _segments, for bisect
        self._key_of: dict[int, tuple[float, int]] = {}  # id(segment) -> its key
        self._listeners: list[Listener] = []
        self._end = 0.0  # latest audio time on the session timeline
        self._offset = 0.0  # added to incoming audio times
        self._closed = False
        self._journal = journal
        for record in history:
            self._replay(record)
        if self._segments:
            self.resume()

    @property
    def segments(self) -> list[Segment]:
        """Copies of all segments, ordered by start across sources."""
        with self._lock:
            return [_copy(seg) for seg in self._segments]

    @property
    def end(self) -> float:
        """The latest audio time recorded, seconds on the session timeline."""
        with self._lock:
            return self._end

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Calls ``listener`` on the adding thread for every change; returns an unsubscribe.

        Changes arrive in order and under the transcript's lock: keep listeners short (emit a
        Qt signal, put on a queue).
        """
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def add_event(self, event: TextEvent) -> None:
        if not event.text:
            return
        with self._lock:
            self._check_open()
            record = {
                "type": "text",
                "source": event.label,
                "text": event.text,
                "start": round(event.start + self._offset, 3),
                "end": round(event.end + self._offset, 3),
                "wall": round(event.wall, 3),
            }
            self._record(record)

    def add_gap(self, gap: Gap) -> None:
        with self._lock:
            self._check_open()
            record = {
                "type": "gap",
                "source": gap.label,
                "start": round(gap.t + self._offset, 3),
                "duration": round(gap.duration, 3),
                "reason": gap.reason,
                "wall": round(time.time(), 3),
            }
            self._record(record)

    def resume(self) -> None:
        """Continues after the current end: for when the pipeline restarts its audio clocks."""
        with self._lock:
            self._offset = self._end
            for segmenter in self._sources.values():
                segmenter.close_segment()

    def flush(self) -> None:
        """Makes everything recorded so far durable now (the journal does so within a second)."""
        if self._journal is not None:
            self._journal.flush()

    def close(self) -> None:
        """Stops accepting events and closes the journal; safe to call again after a failure."""
        with self._lock:
            self._closed = True
            if self._journal is not None:
                self._journal.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the transcript is closed")

    def _record(self, record: dict) -> None:
        """Applies a record in memory, tells listeners, then saves it (which may raise)."""
        changes = self._apply(record)
        for seg, added in changes:
            self._notify(seg, added)
        if self._journal is not None:
            self._journal.append(record)

    def _replay(self, record: dict) -> None:
        try:
            self._apply(record)
        except (KeyError, TypeError, ValueError):
            log.warning("skipping a journal record that does not fit: %r", record)

    def _apply(self, record: dict) -> list[Change]:
        source = str(record["source"])
        segmenter = self._sources.get(source)
        if segmenter is None:
            segmenter = self._sources[source] = SourceSegmenter(source, self.pause)
        start, wall = float(record["start"]), float(record["wall"])
        if record["type"] == "gap":
            duration = float(record["duration"])
            changes = segmenter.add_gap(start, duration, wall)
            self._end = max(self._end, start + duration)
        elif record["type"] == "text":
            end = float(record["end"])
            changes = segmenter.add_text(str(record["text"]), start, end, wall)
            self._end = max(self._end, end)
        else:
            raise ValueError(f"unknown record type {record['type']!r}")
        for seg, added in changes:
            if added:
                self._insert(seg)
        return changes

    def _insert(self, seg: Segment) -> None:
        key = (seg.start, len(self._key_of))
        index = bisect.bisect_right(self._keys, key)
        self._keys.insert(index, key)
        self._segments.insert(index, seg)
        self._key_of[id(seg)] = key

    def _notify(self, seg: Segment, added: bool) -> None:
        if not self._listeners:
            return
        index = bisect.bisect_left(self._keys, self._key_of[id(seg)])
        change = SegmentChange(index, _copy(seg), added)
        for listener in list(self._listeners):
            try:
                listener(change)
            except Exception:  # a broken view must not stop the recording
                log.exception("transcript listener failed")


def _copy(seg: Segment) -> Segment:
    return dataclasses.replace(seg, pieces=list(seg.pieces))
