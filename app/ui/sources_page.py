"""Settings page "Sources": microphone, system audio or both, which devices, labels, levels.

The device lists come from :func:`app.audio.list_devices` (passed in, so tests can hand a fixed
inventory); "Default" follows whatever the system's default is at the time. The level meters
show what the running pipeline hears from each source.
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.audio import DeviceInfo, Inventory
from app.settings import Settings

MODES = (("mic", "&Microphone"), ("system", "&System audio (what this computer plays)"),
         ("both", "&Both, kept apart"))
METER_FLOOR_DB = -60


def level_meter(name: str) -> QProgressBar:
    meter = QProgressBar()
    meter.setRange(METER_FLOOR_DB, 0)
    meter.setValue(METER_FLOOR_DB)
    meter.setTextVisible(False)
    meter.setMaximumHeight(14)
    meter.setAccessibleName(name)
    return meter


def _stable_name(device: DeviceInfo) -> str:
    """What to save for a device: its name, not a PortAudio index that changes between boots."""
    name = device.spec.split(":", 1)[1]
    return device.description if name.isdigit() else name


class SourcesPage(QWidget):
    changed = Signal()

    def __init__(self, devices: Callable[[], Inventory], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._list_devices = devices
        self._loading = False
        self.modes = QButtonGroup(self)
        self.mode_buttons: dict[str, QRadioButton] = {}
        for mode, text in MODES:
            button = QRadioButton(text)
            button.setAccessibleName(text.replace("&", ""))
            self.modes.addButton(button)
            self.mode_buttons[mode] = button
        self.mic_device = self._combo("Microphone device")
        self.system_device = self._combo("System audio device")
        self.mic_label = self._line("Label for the microphone")
        self.system_label = self._line("Label for system audio")
        self.mic_meter = level_meter("Microphone level")
        self.system_meter = level_meter("System audio level")
        self.notes = QLabel(wordWrap=True)
        self.refresh_button = QPushButton("&Refresh devices", clicked=self.refresh_devices)
        self.refresh_button.setAccessibleName("Refresh the device lists")
        self.modes.buttonToggled.connect(self._mode_toggled)
        self._build()

    def _combo(self, name: str) -> QComboBox:
        combo = QComboBox()
        combo.setAccessibleName(name)
        combo.currentIndexChanged.connect(self._emit)
        return combo

    def _line(self, name: str) -> QLineEdit:
        line = QLineEdit()
        line.setAccessibleName(name)
        line.setMaxLength(20)
        line.editingFinished.connect(self._emit)
        return line

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        for button in self.mode_buttons.values():
            layout.addWidget(button)
        form = QFormLayout()
        form.addRow("Microphone &device:", self.mic_device)
        form.addRow("Microphone le&vel:", self.mic_meter)
        form.addRow("Microphone &label:", self.mic_label)
        form.addRow("System &audio from:", self.system_device)
        form.addRow("System audio l&evel:", self.system_meter)
        form.addRow("System audio la&bel:", self.system_label)
        layout.addLayout(form)
        layout.addWidget(self.notes)
        layout.addWidget(self.refresh_button)
        layout.addStretch()

    def load(self, settings: Settings) -> None:
        self._loading = True
        s = settings.sources
        self.mode_buttons[s.mode].setChecked(True)
        self.mic_label.setText(s.mic_label)
        self.system_label.setText(s.system_label)
        self._fill(s.mic_device, s.system_device)
        self._enable_for(s.mode)
        self._loading = False

    def store(self, settings: Settings) -> None:
        s = settings.sources
        s.mode = next(m for m, b in self.mode_buttons.items() if b.isChecked())
        s.mic_device = self.mic_device.currentData() or ""
        s.system_device = self.system_device.currentData() or ""
        s.mic_label = self.mic_label.text().strip() or "Me"
        s.system_label = self.system_label.text().strip() or "Them"

    def set_level(self, kind: str, level_db: float) -> None:
        """Show the level of the "mic" or "system" source, in dBFS."""
        meter = self.mic_meter if kind == "mic" else self.system_meter
        value = max(METER_FLOOR_DB, min(0, round(level_db)))
        meter.setValue(value)
        meter.setAccessibleDescription(f"{value} decibels")

    def refresh_devices(self) -> None:
        self._loading = True
        self._fill(self.mic_device.currentData() or "", self.system_device.currentData() or "")
        self._loading = False

    def _fill(self, mic: str, system: str) -> None:
        inventory = self._list_devices()
        for combo, kind, chosen, default in (
            (self.mic_device, "mic", mic, "Default microphone"),
            (self.system_device, "system", system, "Default output"),
        ):
            combo.clear()
            combo.addItem(default, "")
            for device in inventory.devices:
                if device.kind == kind:
                    combo.addItem(device.description, _stable_name(device))
            if chosen and combo.findData(chosen) < 0:
                combo.addItem(f"{chosen} (not connected)", chosen)
            combo.setCurrentIndex(max(0, combo.findData(chosen)))
        self.notes.setText("\n".join(inventory.notes))
        self.notes.setVisible(bool(inventory.notes))

    def _enable_for(self, mode: str) -> None:
        for widget in (self.mic_device, self.mic_label, self.mic_meter):
            widget.setEnabled(mode in ("mic", "both"))
        for widget in (self.system_device, self.system_label, self.system_meter):
            widget.setEnabled(mode in ("system", "both"))

    def _mode_toggled(self, button: QRadioButton, checked: bool) -> None:
        if checked:
            self._enable_for(next(m for m, b in self.mode_buttons.items() if b is button))
            self._emit()

    def _emit(self) -> None:
        if not self._loading:
            self.changed.emit()
