"""Cyclic garbage, Qt objects included, dies on the GUI thread while the app runs."""
from __future__ import annotations

import gc
import threading

from PySide6.QtWidgets import QLabel

from app.ui.gc_policy import GuiThreadCollector


class _Cycle:
    def __init__(self, died_on: list[int]) -> None:
        self.me, self.died_on = self, died_on
        self.label = QLabel("in a reference cycle")

    def __del__(self) -> None:
        self.died_on.append(threading.get_ident())


def _allocate_a_lot(kept: list) -> None:
    # Enough container allocations to pass generation 0's threshold many times over: with
    # automatic collection on, the cycle would be collected here, on this worker thread.
    kept.extend([i] for i in range(50_000))


def test_garbage_made_on_the_gui_thread_dies_there(qtbot):
    collector = GuiThreadCollector(interval_ms=50)
    try:
        assert not gc.isenabled()
        gc.collect()
        died_on: list[int] = []
        _Cycle(died_on)  # unreachable at once, but only a collection frees it
        kept: list = []
        worker = threading.Thread(target=_allocate_a_lot, args=(kept,))
        worker.start()
        worker.join()
        assert died_on == [], "collected on the worker thread"
        qtbot.waitUntil(lambda: bool(died_on), timeout=3000)
        assert died_on == [threading.get_ident()]
    finally:
        collector.stop()


def test_stop_collects_and_restores_automatic_collection(qtbot):
    gc.enable()
    collector = GuiThreadCollector(interval_ms=60_000)
    died_on: list[int] = []
    _Cycle(died_on)
    collector.stop()
    assert died_on == [threading.get_ident()]
    assert gc.isenabled()
    gc.disable()  # as the suite's own policy keeps it once Qt is loaded
