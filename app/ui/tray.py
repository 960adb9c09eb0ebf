"""The tray icon: the app's handle while only the overlay shows (and when even that is hidden).

Left-click toggles the captions overlay; the menu holds the common actions. Where the desktop
has no tray (some Wayland desktops, the offscreen test platform) the app works without it.
"""
from __future__ import annotations

from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

from app.ui.actions import AppActions
from app.ui.assets import app_icon


class TrayIcon(QSystemTrayIcon):
    def __init__(self, actions: AppActions, parent: QWidget | None = None) -> None:
        super().__init__(app_icon(), parent)
        self._actions = actions
        self.setToolTip("voxcap")
        menu = QMenu()
        menu.setAccessibleName("voxcap menu")
        menu.addActions([actions.show_overlay, actions.pause, actions.open_transcript])
        menu.addSeparator()
        menu.addActions([actions.lock, actions.click_through])
        menu.addSeparator()
        menu.addActions([actions.settings, actions.models, actions.about])
        menu.addSeparator()
        menu.addAction(actions.quit)
        self._menu = menu  # QSystemTrayIcon does not own its menu
        self.setContextMenu(menu)
        self.activated.connect(self._activated)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self._actions.show_overlay.trigger()

    def set_state(self, text: str) -> None:
        self.setToolTip(f"voxcap: {text}" if text else "voxcap")
