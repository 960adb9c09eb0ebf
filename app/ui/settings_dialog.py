"""The settings dialog: every change applies at once (no OK button) and is saved by the app.

Each page edits one part of a :class:`app.settings.Settings`; on any change the dialog emits a
fresh copy with every page's values, and the controller applies what differs (restarting only
the streams or the model that must restart).
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTabWidget, QVBoxLayout, QWidget

from app.audio import Inventory
from app.settings import Settings
from app.ui.appearance_page import AppearancePage
from app.ui.assets import app_icon
from app.ui.engine_page import EnginePage
from app.ui.hotkeys_page import HotkeysPage
from app.ui.sources_page import SourcesPage
from app.ui.transcription_page import TranscriptionPage

if TYPE_CHECKING:  # app.compute imports torch, which the GUI loads only with the model
    from app.compute import DeviceChoice


class SettingsDialog(QDialog):
    settings_changed = Signal(object)  # Settings

    def __init__(self, settings: Settings, devices: list[DeviceChoice],
                 audio_devices: Callable[[], Inventory], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setWindowIcon(app_icon())
        self.setAccessibleName("Settings")
        self._settings = copy.deepcopy(settings)
        self.transcription = TranscriptionPage(devices)
        self.sources = SourcesPage(audio_devices)
        self.appearance = AppearancePage()
        self.hotkeys = HotkeysPage()
        self.engine = EnginePage()
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Settings pages")
        self.tabs.addTab(self.transcription, "&Transcription")
        self.tabs.addTab(self.sources, "S&ources")
        self.tabs.addTab(self.appearance, "&Appearance")
        self.tabs.addTab(self.hotkeys, "&Hotkeys")
        self.tabs.addTab(self.engine, "&Engine")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setAccessibleName("Close settings")
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(buttons)
        for page in self._pages():
            page.changed.connect(self._page_changed)
        self.set_settings(settings)

    def _pages(self) -> tuple:
        return (self.transcription, self.sources, self.appearance, self.hotkeys, self.engine)

    def set_settings(self, settings: Settings) -> None:
        """Show ``settings`` (changed elsewhere, e.g. locked from the overlay's menu)."""
        self._settings = copy.deepcopy(settings)
        for page in self._pages():
            page.load(self._settings)
        self._show_delay_owner()

    def current(self) -> Settings:
        settings = copy.deepcopy(self._settings)
        for page in self._pages():
            page.store(settings)
        return settings

    def set_level(self, kind: str, level_db: float) -> None:
        self.sources.set_level(kind, level_db)

    def _page_changed(self) -> None:
        self._settings = self.current()
        self._show_delay_owner()
        self.settings_changed.emit(copy.deepcopy(self._settings))

    def _show_delay_owner(self) -> None:
        """A vLLM server fixes the delay: the slider is off and says whose delay it is."""
        e, page = self._settings.engine, self.transcription
        by_server = e.kind == "vllm"
        page.delay.setEnabled(not by_server)
        if by_server:
            told = f" ({e.server_delay_ms} ms)" if e.server_delay_ms else ""
            page.delay_value.setText(f"set by the server{told}")
            page.hint.setText("The vLLM server fixes the delay for everyone who uses it.")
        else:
            page.load(self._settings)  # the delay label and hint as the slider says
