"""The settings dialog: each page shows the settings, and every change comes out at once."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

from app.audio import DeviceInfo, Inventory
from app.compute import available_devices
from app.settings import Settings
from app.ui.settings_dialog import SettingsDialog
from engine.packed import half_gemm_ok

INVENTORY = Inventory(
    [DeviceInfo("mic", "mic:alsa_input.usb-headset", "USB Headset", False),
     DeviceInfo("mic", "mic:7", "Built-in Microphone", True),
     DeviceInfo("system", "system:alsa_output.hdmi", "HDMI Output", True)],
    ["a note about missing loopback"],
)


@pytest.fixture
def dialog(qtbot):
    def make(settings: Settings | None = None) -> SettingsDialog:
        widget = SettingsDialog(settings or Settings(), available_devices(), lambda: INVENTORY)
        qtbot.addWidget(widget)
        widget.show()
        return widget

    return make


def changes(qtbot, dialog, act) -> Settings:
    with qtbot.waitSignal(dialog.settings_changed, timeout=1000) as signal:
        act()
    return signal.args[0]


def test_delay_slider_moves_in_80_ms_steps_with_a_plain_hint(qtbot, dialog):
    d = dialog()
    page = d.transcription
    assert page.delay.value() * 80 == 480
    assert page.delay_value.text() == "480 ms"
    assert page.hint.text().startswith("Balanced")
    new = changes(qtbot, d, lambda: page.delay.setValue(page.delay.maximum()))
    assert new.delay_ms == 2400
    assert page.hint.text().startswith("Most accurate")
    new = changes(qtbot, d, lambda: page.delay.setValue(page.delay.minimum()))
    assert new.delay_ms == 80
    assert page.hint.text().startswith("Fastest")
    qtbot.keyClick(page.delay, Qt.Key.Key_Right)
    assert d.current().delay_ms == 160


def test_devices_come_from_this_machine_and_precisions_follow_the_device(qtbot, dialog):
    d = dialog()
    page = d.transcription
    names = [page.device.itemData(i) for i in range(page.device.count())]
    assert names == ["auto"] + [c.name for c in available_devices()]
    new = changes(qtbot, d, lambda: page.device.setCurrentIndex(names.index("cpu")))
    assert new.device == "cpu"
    precisions = [page.precision.itemData(i) for i in range(page.precision.count())]
    # the automatic order first: float32 where fbgemm packs it (engine/packed.py)
    best = ["float32", "bfloat16"] if half_gemm_ok() else ["bfloat16", "float32"]
    assert precisions == ["auto", *best, "int8"]
    new = changes(qtbot, d, lambda: page.precision.setCurrentIndex(2))
    assert (new.device, new.precision) == ("cpu", best[1])


def test_sources_page_lists_devices_and_enables_what_the_mode_uses(qtbot, dialog):
    d = dialog()
    page = d.sources
    assert page.mode_buttons["system"].isChecked()
    assert not page.mic_device.isEnabled() and page.system_device.isEnabled()
    new = changes(qtbot, d, lambda: page.mode_buttons["both"].setChecked(True))
    assert new.sources.mode == "both"
    assert new.source_specs() == [("mic", "Me"), ("system", "Them")]
    assert page.mic_device.isEnabled()
    mics = [page.mic_device.itemText(i) for i in range(page.mic_device.count())]
    assert mics == ["Default microphone", "USB Headset", "Built-in Microphone"]
    new = changes(qtbot, d, lambda: page.mic_device.setCurrentIndex(1))
    assert new.source_specs()[0] == ("mic:alsa_input.usb-headset", "Me")
    # A PortAudio index is not saved (it changes between boots): the device's name is.
    new = changes(qtbot, d, lambda: page.mic_device.setCurrentIndex(2))
    assert new.sources.mic_device == "Built-in Microphone"
    assert page.notes.text() == "a note about missing loopback"


def test_a_saved_device_that_is_unplugged_stays_selected(dialog):
    s = Settings()
    s.sources.system_device = "alsa_output.usb-dock"
    d = dialog(s)
    assert d.sources.system_device.currentText() == "alsa_output.usb-dock (not connected)"
    assert d.current().sources.system_device == "alsa_output.usb-dock"


def test_labels_and_levels(qtbot, dialog):
    d = dialog()
    page = d.sources
    page.system_label.setText("Lecturer")
    new = changes(qtbot, d, page.system_label.editingFinished.emit)
    assert new.source_specs() == [("system", "Lecturer")]
    d.set_level("system", -12.4)
    assert page.system_meter.value() == -12
    d.set_level("mic", -200.0)
    assert page.mic_meter.value() == page.mic_meter.minimum()


def test_appearance_page(qtbot, dialog):
    d = dialog()
    page = d.appearance
    new = changes(qtbot, d, lambda: page.lines.setValue(4))
    assert new.overlay.lines == 4
    new = changes(qtbot, d, lambda: page.click_through.setChecked(True))
    assert new.overlay.click_through
    new = changes(qtbot, d, lambda: page.theme.setCurrentIndex(page.theme.findData("dark")))
    assert new.theme == "dark"
    new = changes(qtbot, d, lambda: page.opacity.setValue(35))
    assert new.overlay.opacity == pytest.approx(0.35)
    new = changes(qtbot, d, lambda: page.dim_after.setValue(0))
    assert new.overlay.dim_after_s == 0
    assert page.dim_after.text() == "Never"


def test_hotkeys_page(qtbot, dialog):
    d = dialog()
    page = d.hotkeys
    assert page.pause.keySequence() == QKeySequence("Ctrl+Alt+P")
    page.pause.setKeySequence(QKeySequence("Ctrl+Shift+F9"))
    new = changes(qtbot, d, page.pause.editingFinished.emit)
    assert new.hotkeys.pause == "Ctrl+Shift+F9"
    new = changes(qtbot, d, page.toggle_overlay.clear)
    assert new.hotkeys.toggle_overlay == ""


def test_set_settings_shows_changes_made_elsewhere_without_emitting(qtbot, dialog):
    d = dialog()
    s = Settings()
    s.overlay.locked = True
    with qtbot.assertNotEmitted(d.settings_changed):
        d.set_settings(s)
    assert d.appearance.locked.isChecked()
