"""Settings page "Appearance": the app's theme and how the caption overlay looks and behaves."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFontComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QWidget,
)

from app.settings import Settings
from app.ui.colour_button import ColourButton

THEMES = (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark"),
          ("high-contrast", "High contrast"))


class AppearancePage(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._loading = False
        self.theme = QComboBox()
        for key, text in THEMES:
            self.theme.addItem(text, key)
        self.font_family = QFontComboBox()
        self.font_size = QSpinBox(minimum=6, maximum=96, suffix=" pt")
        self.text_colour = ColourButton("Caption text colour")
        self.background_colour = ColourButton("Caption background colour")
        self.opacity = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100, pageStep=10)
        self.opacity_value = QLabel()
        self.opacity.valueChanged.connect(self._show_opacity)
        self.lines = QSpinBox(minimum=1, maximum=6)
        self.dim_after = QDoubleSpinBox(minimum=0, maximum=120, singleStep=1, decimals=0,
                                        suffix=" s", specialValueText="Never")
        self.show_status = QCheckBox("Show lag and &speed on the captions")
        self.locked = QCheckBox("&Lock the captions' position and size")
        self.click_through = QCheckBox("&Click-through: clicks go to the window underneath")
        self._name_controls()
        self._connect()
        form = QFormLayout(self)
        form.addRow("&Theme:", self.theme)
        form.addRow("Caption &font:", self.font_family)
        form.addRow("Font si&ze:", self.font_size)
        form.addRow("Te&xt colour:", self.text_colour)
        form.addRow("&Background:", self.background_colour)
        opacity_row = QHBoxLayout()
        opacity_row.addWidget(self.opacity, 1)
        opacity_row.addWidget(self.opacity_value)
        opacity_label = QLabel("Background &opacity:")
        opacity_label.setBuddy(self.opacity)
        form.addRow(opacity_label, opacity_row)
        form.addRow("&Lines shown:", self.lines)
        form.addRow("&Dim after silence:", self.dim_after)
        form.addRow(self.show_status)
        form.addRow(self.locked)
        form.addRow(self.click_through)

    def _name_controls(self) -> None:
        names = {
            self.theme: "Theme", self.font_family: "Caption font", self.font_size: "Font size",
            self.opacity: "Caption background opacity", self.lines: "Caption lines shown",
            self.dim_after: "Dim captions after this much silence",
            self.show_status: "Show lag and speed", self.locked: "Lock position",
            self.click_through: "Click-through",
        }
        for widget, name in names.items():
            widget.setAccessibleName(name)

    def _connect(self) -> None:
        for signal in (self.theme.currentIndexChanged, self.font_family.currentFontChanged,
                       self.font_size.valueChanged, self.text_colour.colour_changed,
                       self.background_colour.colour_changed, self.opacity.valueChanged,
                       self.lines.valueChanged, self.dim_after.valueChanged,
                       self.show_status.toggled, self.locked.toggled, self.click_through.toggled):
            signal.connect(self._emit)

    def load(self, settings: Settings) -> None:
        self._loading = True
        o = settings.overlay
        self.theme.setCurrentIndex(max(0, self.theme.findData(settings.theme)))
        self.font_family.setCurrentFont(QFont(o.font_family) if o.font_family else QFont())
        self.font_size.setValue(o.font_size)
        self.text_colour.set_colour(o.text_color)
        self.background_colour.set_colour(o.background_color)
        self.opacity.setValue(round(o.opacity * 100))
        self.lines.setValue(o.lines)
        self.dim_after.setValue(o.dim_after_s)
        self.show_status.setChecked(o.show_status)
        self.locked.setChecked(o.locked)
        self.click_through.setChecked(o.click_through)
        self._loading = False

    def store(self, settings: Settings) -> None:
        o = settings.overlay
        settings.theme = self.theme.currentData()
        o.font_family = self.font_family.currentFont().family()
        o.font_size = self.font_size.value()
        o.text_color = self.text_colour.colour
        o.background_color = self.background_colour.colour
        o.opacity = self.opacity.value() / 100
        o.lines = self.lines.value()
        o.dim_after_s = self.dim_after.value()
        o.show_status = self.show_status.isChecked()
        o.locked = self.locked.isChecked()
        o.click_through = self.click_through.isChecked()

    def _show_opacity(self, value: int) -> None:
        self.opacity_value.setText(f"{value} %")
        self.opacity.setAccessibleDescription(f"{value} percent")

    def _emit(self) -> None:
        if not self._loading:
            self.changed.emit()
