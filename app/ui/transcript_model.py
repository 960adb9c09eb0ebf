"""The transcript as a Qt table (time, source, text), fed live without flooding the GUI.

The transcript calls its listeners on the pipeline's thread, once per piece of text. Here those
changes only go into a queue; a short single-shot timer on the GUI thread then applies all that
arrived in one go, so the view repaints a few times a second however fast text comes. The model
holds at most ``max_rows`` segments: the oldest leave the view (they stay in the transcript and
its journal, and in every export).
"""
from __future__ import annotations

import itertools
import time
from collections import deque

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)

from app.events import Segment
from app.transcript import SegmentChange, Transcript

COLUMNS = ("Time", "Source", "Text")
SEGMENT_ROLE = Qt.ItemDataRole.UserRole

Index = QModelIndex | QPersistentModelIndex


def clock(seconds: float) -> str:
    """Audio time as H:MM:SS."""
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class TranscriptTableModel(QAbstractTableModel):
    _arrived = Signal()  # from any thread: changes are waiting

    def __init__(self, max_rows: int = 5000, interval_ms: int = 100,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.max_rows = max_rows
        self._rows: list[Segment] = []
        self._dropped = 0  # segments trimmed from the top; transcript index = row + dropped
        self._pending: deque[tuple[int, SegmentChange]] = deque()
        self._generation = itertools.count()
        self._current = next(self._generation)
        self._unsubscribe = None
        self._timer = QTimer(self, singleShot=True, interval=interval_ms, timeout=self.flush)
        self._arrived.connect(self._schedule)

    # -- feeding ------------------------------------------------------------------------------

    def attach(self, transcript: Transcript | None) -> None:
        """Show ``transcript`` and follow it live; attach before its events start to flow."""
        self._detach()
        if transcript is None:
            self._reset([])
            return
        generation = self._current

        def listen(change: SegmentChange) -> None:
            self._pending.append((generation, change))
            self._arrived.emit()

        self._unsubscribe = transcript.subscribe(listen)
        self._reset(transcript.segments)

    def show_segments(self, segments: list[Segment]) -> None:
        """Show a fixed list (a past session), no longer following anything."""
        self._detach()
        self._reset(segments)

    def segments(self) -> list[Segment]:
        """The segments shown, oldest first (without those trimmed off the top)."""
        return list(self._rows)

    def flush(self) -> None:
        """Apply every change that has arrived (the timer calls this; tests may too)."""
        while self._pending:
            generation, change = self._pending.popleft()
            if generation == self._current:
                self._apply(change)
        self._trim()

    # -- Qt model interface -------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 -- Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 -- Qt's signature
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        seg = self._rows[index.row()]
        if role == SEGMENT_ROLE:
            return seg
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return (clock(seg.start), seg.source, seg.text.strip())[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole and seg.wall_start:
            return time.strftime("Said at %H:%M:%S", time.localtime(seg.wall_start))
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    # -- internals ----------------------------------------------------------------------------

    def _detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._current = next(self._generation)  # changes still queued are now stale
        self._pending.clear()

    def _reset(self, segments: list[Segment]) -> None:
        self.beginResetModel()
        self._dropped = max(0, len(segments) - self.max_rows)
        self._rows = list(segments[self._dropped:])
        self.endResetModel()

    def _schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def _apply(self, change: SegmentChange) -> None:
        row = change.index - self._dropped
        if change.added:
            row = max(0, min(row, len(self._rows)))
            self.beginInsertRows(QModelIndex(), row, row)
            self._rows.insert(row, change.segment)
            self.endInsertRows()
        elif 0 <= row < len(self._rows):
            self._rows[row] = change.segment
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def _trim(self) -> None:
        extra = len(self._rows) - self.max_rows
        if extra > 0:
            self.beginRemoveRows(QModelIndex(), 0, extra - 1)
            del self._rows[:extra]
            self._dropped += extra
            self.endRemoveRows()
