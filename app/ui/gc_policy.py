"""Python's cyclic garbage is collected on the GUI thread, never on a worker's.

Python's automatic collector runs in whichever thread happens to allocate past a threshold. When
the garbage holds Qt objects (a closed dialog caught in a reference cycle), their C++ destructors
then run in that thread: they take Qt's internal locks and wait for the GIL, while the GUI
thread holds the GIL and waits for those locks, and the app stops for good. So while the app runs,
automatic collection is off and a timer on the GUI thread collects the generations that are due,
by the thresholds the automatic collector uses (``gc.get_threshold()``, 700 / 10 / 10 by default).
"""
from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500


def collect_due() -> int:
    """Collect the oldest generation whose allocation count has passed its threshold, as the
    automatic collector would; call it on the GUI thread. Returns the objects found unreachable
    (0 when none was due)."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    for generation in (2, 1, 0):
        if thresholds[generation] and counts[generation] > thresholds[generation]:
            return gc.collect(generation)
    return 0


class GuiThreadCollector(QObject):
    """Turns automatic collection off and collects from a timer on the thread that creates it
    (the GUI thread) every ``interval_ms``; :meth:`stop` collects everything and turns automatic
    collection back on if it was on."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer = QTimer(self, interval=interval_ms)
        self._timer.timeout.connect(collect_due)
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()
