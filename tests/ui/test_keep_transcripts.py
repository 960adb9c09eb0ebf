"""The "Keep transcripts" box on the Transcription page: captions only when unticked."""
from __future__ import annotations

from app.compute import available_devices
from app.settings import Settings
from app.ui.settings_dialog import SettingsDialog
from tests.ui.test_settings_dialog import INVENTORY


def test_the_box_shows_and_changes_the_setting(qtbot):
    dialog = SettingsDialog(Settings(keep_transcripts=False), available_devices(),
                            lambda: INVENTORY)
    qtbot.addWidget(dialog)
    dialog.show()
    box = dialog.transcription.keep
    assert not box.isChecked()
    with qtbot.waitSignal(dialog.settings_changed, timeout=1000) as signal:
        box.setChecked(True)
    assert signal.args[0].keep_transcripts is True
