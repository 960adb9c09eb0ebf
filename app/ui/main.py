"""Start the desktop app: ``voxcap`` with no command, or ``python -m app``.

``voxcap --model DIR`` runs on a checkpoint folder of the user's choice instead of the one the
model manager keeps.
"""
from __future__ import annotations

import signal
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app import settings as settings_file
from app.ui.assets import app_icon
from app.ui.controller import AppController
from app.ui.gc_policy import GuiThreadCollector

SHUTDOWN_WAIT_MS = 15000  # for a download to notice its cancel, a journal to close


def make_application(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("voxcap")
    app.setApplicationDisplayName("voxcap")
    app.setDesktopFileName("voxcap")
    app.setWindowIcon(app_icon())
    # The overlay, a hidden window or the tray keep the app alive; only Quit ends it.
    app.setQuitOnLastWindowClosed(False)
    return app


def run_app(model_dir: str | None = None) -> int:
    """Run the GUI until the user quits; the exit code for the shell.

    The caller has checked :func:`app.ui.preflight.gui_problem` (``voxcap`` does, before
    importing Qt).
    """
    if model_dir is not None and not Path(model_dir).is_dir():
        print(f"voxcap: {model_dir} is not a folder. Give the checkpoint folder that holds "
              "params.json, tekken.json and consolidated.safetensors.", file=sys.stderr)
        return 2
    app = make_application()
    collector = GuiThreadCollector(app)  # Qt objects never die on a worker thread
    controller = AppController(settings_file.load(),
                               model_dir=Path(model_dir) if model_dir else None)
    controller.finished.connect(app.quit)
    # Ctrl+C in the terminal quits cleanly; the timer lets Python see the signal.
    signal.signal(signal.SIGINT, lambda *_: controller.quit())
    wake = QTimer(interval=250, timeout=lambda: None)
    wake.start()
    controller.start()
    code = app.exec()
    wake.stop()
    controller.quit()  # no-op after Quit; saves everything when the session ended the app
    controller.wait_for_workers(SHUTDOWN_WAIT_MS)
    collector.stop()
    return code
