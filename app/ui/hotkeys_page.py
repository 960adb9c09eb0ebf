"""Settings page "Hotkeys": the pause and show/hide-captions shortcuts, and where they work."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFormLayout, QKeySequenceEdit, QLabel, QWidget

from app.settings import Settings

LIMITATION = (
    "On Windows these shortcuts work in every app. Elsewhere they work while a voxcap window "
    "has the keyboard focus: Linux and macOS desktops do not let an app take keys "
    "system-wide (Wayland forbids it), so from other apps use the tray icon's menu."
)


class HotkeysPage(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._loading = False
        self.pause = QKeySequenceEdit(clearButtonEnabled=True, maximumSequenceLength=1)
        self.pause.setAccessibleName("Pause and resume shortcut")
        self.toggle_overlay = QKeySequenceEdit(clearButtonEnabled=True, maximumSequenceLength=1)
        self.toggle_overlay.setAccessibleName("Show and hide captions shortcut")
        for edit in (self.pause, self.toggle_overlay):
            edit.editingFinished.connect(self._emit)
            edit.keySequenceChanged.connect(self._cleared)
        form = QFormLayout(self)
        form.addRow("&Pause / resume:", self.pause)
        form.addRow("&Show / hide captions:", self.toggle_overlay)
        form.addRow(QLabel(LIMITATION, wordWrap=True))

    def load(self, settings: Settings) -> None:
        self._loading = True
        self.pause.setKeySequence(QKeySequence(settings.hotkeys.pause))
        self.toggle_overlay.setKeySequence(QKeySequence(settings.hotkeys.toggle_overlay))
        self._loading = False

    def store(self, settings: Settings) -> None:
        portable = QKeySequence.SequenceFormat.PortableText
        settings.hotkeys.pause = self.pause.keySequence().toString(portable)
        settings.hotkeys.toggle_overlay = self.toggle_overlay.keySequence().toString(portable)

    def _cleared(self, sequence: QKeySequence) -> None:
        # The clear button changes the sequence without finishing an edit.
        if sequence.isEmpty():
            self._emit()

    def _emit(self) -> None:
        if not self._loading:
            self.changed.emit()
