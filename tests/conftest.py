"""Once a test has loaded Qt, cyclic garbage is collected on the main thread only.

Python's automatic collector runs in whichever thread allocates past its threshold; garbage
holding Qt objects must not be destroyed on a worker thread (see app/ui/gc_policy.py), such as a
test's HTTP server thread. So after Qt is imported automatic collection stays off, and each
test's teardown collects what is due on the main thread, as the app's GUI-thread timer does.
"""
from __future__ import annotations

import gc
import sys

import pytest


@pytest.fixture(autouse=True)
def _collect_on_main_thread():
    yield
    if "PySide6.QtCore" in sys.modules:
        from app.ui.gc_policy import collect_due

        gc.disable()
        collect_due()
