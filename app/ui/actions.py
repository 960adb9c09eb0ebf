"""The app's commands as QActions, shared by the tray menu, the overlay's menu and the windows.

One QAction per command keeps a checkable state (paused, locked, click-through) the same in every
menu. The pause and overlay hotkeys are application-wide shortcuts: they work while any voxcap
window has the keyboard focus; on Windows :mod:`app.ui.global_hotkeys` makes them system-wide.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence

from app.settings import HotkeySettings


class AppActions(QObject):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.record = self._make("&Record")
        self.pause = self._make("&Pause captions", checkable=True)
        self.stop = self._make("S&top recording")
        self.show_overlay = self._make("Show &captions overlay", checkable=True)
        self.open_transcript = self._make("Open &transcript")
        self.settings = self._make("&Settings…")
        self.models = self._make("&Model…")
        self.lock = self._make("&Lock position", checkable=True)
        self.click_through = self._make("Click &through", checkable=True)
        self.show_status = self._make("Show lag and &speed", checkable=True)
        self.bigger = self._make("&Bigger text")
        self.smaller = self._make("S&maller text")
        self.about = self._make("&About voxcap")
        self.quit = self._make("&Quit")
        self.quit.setShortcut(QKeySequence.StandardKey.Quit)

    def _make(self, text: str, checkable: bool = False) -> QAction:
        action = QAction(text, self)
        action.setCheckable(checkable)
        action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        return action

    def hotkey_actions(self) -> list[QAction]:
        """Actions to add to every window so their shortcuts work wherever the focus is."""
        return [self.pause, self.show_overlay, self.quit]

    def set_hotkeys(self, hotkeys: HotkeySettings) -> None:
        self.pause.setShortcut(QKeySequence(hotkeys.pause))
        self.show_overlay.setShortcut(QKeySequence(hotkeys.toggle_overlay))
