"""Themes switch and switch back, the tray menu drives the shared actions, hotkeys follow settings."""
from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QLineEdit, QSystemTrayIcon

from app.settings import HotkeySettings
from app.ui.actions import AppActions
from app.ui.global_hotkeys import GlobalHotkeys, windows_hotkey
from app.ui.theme import ThemeManager
from app.ui.tray import TrayIcon


def test_high_contrast_then_back_to_the_system_look(qapp):
    before = QPalette(qapp.palette())
    themes = ThemeManager(qapp)
    themes.apply("high-contrast")
    assert qapp.palette().color(QPalette.ColorRole.Window).name() == "#000000"
    assert qapp.palette().color(QPalette.ColorRole.Highlight).name() == "#ffff00"
    assert "border" in qapp.styleSheet()
    themes.apply("dark")
    assert qapp.styleSheet() == ""
    themes.apply("system")
    assert qapp.palette() == before
    assert qapp.styleSheet() == ""


def test_tray_menu_and_click(qtbot):
    actions = AppActions()
    tray = TrayIcon(actions)
    menu = [a.text() for a in tray.contextMenu().actions() if not a.isSeparator()]
    assert menu[0] == actions.show_overlay.text() and menu[-1] == actions.quit.text()
    assert actions.pause.text() in menu and actions.open_transcript.text() in menu
    with qtbot.waitSignal(actions.show_overlay.toggled) as toggled:
        tray.activated.emit(QSystemTrayIcon.ActivationReason.Trigger)
    assert toggled.args == [True]
    tray.set_state("Paused")
    assert tray.toolTip() == "voxcap: Paused"


def test_hotkeys_follow_the_settings_and_work_from_any_window(qtbot):
    actions = AppActions()
    actions.set_hotkeys(HotkeySettings(pause="F8", toggle_overlay=""))
    assert actions.show_overlay.shortcut().isEmpty()
    window = QLineEdit()  # any focused control of any voxcap window
    window.addActions(actions.hotkey_actions())
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window)
    with qtbot.waitSignal(actions.pause.toggled) as toggled:
        qtbot.keyClick(window, Qt.Key.Key_F8)
    assert toggled.args == [True]


@pytest.mark.parametrize(("sequence", "expected"), [
    ("Ctrl+Alt+P", (0x4000 | 0x0002 | 0x0001, 0x50)),
    ("Shift+F9", (0x4000 | 0x0004, 0x78)),
    ("Meta+5", (0x4000 | 0x0008, 0x35)),
    ("Pause", (0x4000, 0x13)),
])
def test_windows_codes_for_hotkeys(sequence, expected):
    assert windows_hotkey(sequence) == expected


def test_hotkeys_without_a_windows_code_stay_app_wide(qapp):
    assert windows_hotkey("Ctrl+Alt+P, Ctrl+Q") is None  # two chords
    assert windows_hotkey("Ctrl+Left") is None
    if sys.platform != "win32":
        assert not GlobalHotkeys().register("Ctrl+Alt+P", lambda: None)
