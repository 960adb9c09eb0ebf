"""A button that shows a colour and lets the user pick another."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QColorDialog, QPushButton, QWidget


class ColourButton(QPushButton):
    colour_changed = Signal(str)  # "#rrggbb"

    def __init__(self, accessible_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(accessible_name)
        self._colour = QColor("#000000")
        self.clicked.connect(self._pick)

    @property
    def colour(self) -> str:
        return self._colour.name()

    def set_colour(self, colour: str) -> None:
        self._colour = QColor(colour)
        swatch = QPixmap(24, 16)
        swatch.fill(self._colour)
        self.setIcon(QIcon(swatch))
        self.setText(self._colour.name())
        # Screen readers say the value too, not only "button".
        self.setAccessibleDescription(f"{self.accessibleName()}: {self._colour.name()}")

    def _pick(self) -> None:
        chosen = QColorDialog.getColor(self._colour, self, self.accessibleName())
        if chosen.isValid() and chosen != self._colour:
            self.set_colour(chosen.name())
            self.colour_changed.emit(chosen.name())
