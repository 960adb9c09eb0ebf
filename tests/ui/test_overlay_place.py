"""An overlay place from a hand-edited or damaged settings file: clamped, never an abort."""
from __future__ import annotations

import json

from PySide6.QtGui import QGuiApplication

from app import settings
from app.ui import placement
from app.ui.actions import AppActions
from app.ui.overlay import CaptionOverlay


def test_a_place_beyond_int32_is_clamped_to_the_screen(qtbot, tmp_path):
    screen = QGuiApplication.primaryScreen()
    key = placement.screen_key(screen)
    path = tmp_path / "settings.json"
    huge = 2**40
    data = {"overlay": {"places": {key: [huge, -huge, huge, huge]}, "last_screen": key}}
    path.write_text(json.dumps(data), encoding="utf-8")
    widget = CaptionOverlay(settings.load(path).overlay, AppActions())
    qtbot.addWidget(widget)
    widget.restore_place()
    assert screen.geometry().contains(widget.geometry())
