"""Settings page "Transcription": the delay dial, the compute device, the precision, and whether
transcripts are kept as sessions.

The delay is an input of the model: 80 ms steps from 80 ms to 2.4 s. A short delay shows words
sooner but the model has heard less of what follows them, so it guesses more; the hint under
the slider says so in plain words.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from app.settings import Settings
from engine.delay import DELAY_STEP_MS, MAX_DELAY_MS, MIN_DELAY_MS

if TYPE_CHECKING:  # app.compute imports torch, which the GUI loads only with the model
    from app.compute import DeviceChoice

PRECISION_WORDS = {
    "float32": "Full (float32, the most memory)",
    "bfloat16": "Half (bfloat16)",
    "float16": "Half (float16)",
    "int8": "Compact (int8 weights: half of bfloat16's memory, slightly less accurate)",
}


def delay_hint(ms: int) -> str:
    if ms <= 240:
        return "Fastest: words appear almost at once, but more of them may be wrong."
    if ms <= 640:
        return "Balanced: quick captions with good accuracy (480 ms is recommended)."
    if ms <= 1280:
        return "More accurate: captions come about a second after the words."
    return f"Most accurate: captions come about {ms / 1000:.1f} s after the words."


class TranscriptionPage(QWidget):
    changed = Signal()

    def __init__(self, devices: list[DeviceChoice], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._devices = devices
        self._loading = False
        self.delay = QSlider(Qt.Orientation.Horizontal)
        self.delay.setRange(MIN_DELAY_MS // DELAY_STEP_MS, MAX_DELAY_MS // DELAY_STEP_MS)
        self.delay.setPageStep(3)
        self.delay.setTickInterval(3)
        self.delay.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.delay.setAccessibleName("Transcription delay")
        self.delay_value = QLabel()
        self.delay_value.setMinimumWidth(self.delay_value.fontMetrics().horizontalAdvance("2400 ms"))
        self.hint = QLabel(wordWrap=True)
        self.hint.setAccessibleName("What this delay means")
        self.device = QComboBox()
        self.device.setAccessibleName("Compute device")
        best = devices[0].description
        self.device.addItem(f"Automatic: {best}", "auto")
        for d in devices:
            self.device.addItem(d.description, d.name)
        self.precision = QComboBox()
        self.precision.setAccessibleName("Precision")
        self.in_use = QLabel(wordWrap=True)  # what the loaded model runs on, and why
        self.in_use.setAccessibleName("Model in use")
        self.in_use.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.in_use.hide()
        self.delay.valueChanged.connect(self._delay_moved)
        self.device.currentIndexChanged.connect(self._device_chosen)
        self.keep = QCheckBox("&Keep transcripts (unticked: captions only, nothing is saved)")
        self.keep.setAccessibleName("Keep transcripts")
        self.precision.currentIndexChanged.connect(self._emit)
        self.keep.toggled.connect(self._emit)
        self._build()

    def _build(self) -> None:
        ends = QHBoxLayout()
        ends.addWidget(QLabel("◀ Faster"))
        ends.addStretch()
        ends.addWidget(QLabel("More accurate ▶"))
        slider_row = QHBoxLayout()
        slider_row.addWidget(self.delay, 1)
        slider_row.addWidget(self.delay_value)
        delay_box = QVBoxLayout()
        delay_box.addLayout(slider_row)
        delay_box.addLayout(ends)
        delay_box.addWidget(self.hint)
        form = QFormLayout(self)
        delay_label = QLabel("&Delay:")
        delay_label.setBuddy(self.delay)
        form.addRow(delay_label, delay_box)
        form.addRow("De&vice:", self.device)
        form.addRow("&Precision:", self.precision)
        form.addRow("", self.in_use)
        note = QLabel("Changing the device or precision reloads the model; captions pause "
                      "meanwhile.", wordWrap=True)
        form.addRow(note)
        form.addRow(self.keep)

    def load(self, settings: Settings) -> None:
        self._loading = True
        self.delay.setValue(settings.delay_ms // DELAY_STEP_MS)
        self._show_delay()
        self.device.setCurrentIndex(max(0, self.device.findData(settings.device)))
        self._fill_precisions(settings.precision)
        self.keep.setChecked(settings.keep_transcripts)
        self._loading = False

    def show_in_use(self, reason: str) -> None:
        """Say what the loaded model runs on and why ("" hides the line: none loaded here)."""
        self.in_use.setText(f"In use: {reason}" if reason else "")
        self.in_use.setVisible(bool(reason))

    def store(self, settings: Settings) -> None:
        settings.delay_ms = self.delay.value() * DELAY_STEP_MS
        settings.device = self.device.currentData()
        settings.precision = self.precision.currentData()
        settings.keep_transcripts = self.keep.isChecked()

    def _precisions(self) -> tuple[str, ...]:
        name = self.device.currentData()
        chosen = next((d for d in self._devices if d.name == name), self._devices[0])
        return (*chosen.precisions, "int8") if chosen.name != "mps" else chosen.precisions

    def _fill_precisions(self, selected: str) -> None:
        self.precision.blockSignals(True)
        self.precision.clear()
        self.precision.addItem("Automatic: best for the device", "auto")
        for p in self._precisions():
            self.precision.addItem(PRECISION_WORDS[p], p)
        self.precision.setCurrentIndex(max(0, self.precision.findData(selected)))
        self.precision.blockSignals(False)

    def _show_delay(self) -> None:
        ms = self.delay.value() * DELAY_STEP_MS
        self.delay_value.setText(f"{ms} ms")
        self.hint.setText(delay_hint(ms))
        self.delay.setAccessibleDescription(f"{ms} milliseconds. {delay_hint(ms)}")

    def _delay_moved(self) -> None:
        self._show_delay()
        self._emit()

    def _device_chosen(self) -> None:
        self._fill_precisions(self.precision.currentData() or "auto")
        self._emit()

    def _emit(self) -> None:
        if not self._loading:
            self.changed.emit()
