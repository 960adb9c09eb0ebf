"""What a newcomer meets in the first hour of the app: start-up, messages, buttons, placement."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QRect, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QInputDialog, QMessageBox

from app.audio import Inventory
from app.models import ModelManager
from app.settings import OverlaySettings, Settings
from app.ui.controller import AppController
from app.ui.notices import NO_MODEL
from app.ui.overlay import CaptionOverlay
from app.ui.sessions_panel import SessionsPanel


@pytest.fixture
def controller_with(qtbot, make_manager):
    made: list[AppController] = []

    def make(**options) -> AppController:
        controller = AppController(Settings(), manager=make_manager(),
                                   audio_devices=lambda: Inventory([], []), **options)
        made.append(controller)
        return controller

    yield make
    for controller in made:
        controller.quit()
        qtbot.waitUntil(lambda c=controller: not c.recorder.control.running, timeout=60000)
        controller.wait_for_workers(10000)
        for window in (controller.overlay, controller.window, controller.model_dialog):
            if window is not None:
                window.deleteLater()


def test_the_window_shows_loading_before_the_model_has_loaded(qtbot, controller_with,
                                                              tiny_checkpoint):
    release = threading.Event()
    loading = threading.Event()

    def slow_load(path: Path, device: str, dtype: str, progress=None) -> None:
        progress(0.42)
        loading.set()
        release.wait(60)
        raise OSError("stopped by the test")

    controller = controller_with(model_dir=tiny_checkpoint, load=slow_load)
    controller.start()
    qtbot.waitUntil(loading.is_set, timeout=10000)
    assert controller.overlay.isVisible()
    assert controller.overlay._notice.startswith("Loading the speech model")
    qtbot.waitUntil(lambda: controller.overlay._notice == "Loading the speech model… 42%",
                    timeout=10000)
    assert not controller.actions.record.isEnabled()
    assert "loading" in controller.actions.record.toolTip()
    release.set()


def test_record_pause_stop_follow_the_state(qtbot, controller_with):
    controller = controller_with()
    a = controller.actions
    assert a.record.isEnabled() and not a.pause.isEnabled() and not a.stop.isEnabled()
    for state, record, pause, stop in (("loading", False, False, False),
                                       ("starting", False, False, True),
                                       ("running", False, True, True),
                                       ("paused", False, True, True),
                                       ("stopped", True, False, False),
                                       ("error", True, False, False)):
        controller._on_state(state, "")
        assert (a.record.isEnabled(), a.pause.isEnabled(), a.stop.isEnabled()) == \
            (record, pause, stop), state


def test_record_without_a_model_says_why(qtbot, controller_with):
    controller = controller_with()
    controller.actions.record.trigger()
    assert controller.overlay._notice == NO_MODEL
    assert controller.window.status.text() == NO_MODEL
    assert controller.model_dialog is not None and controller.model_dialog.isVisible()


LONG = ("Them: cannot open system audio of Built-in Audio Analog Stereo "
        "(alsa_output.pci-0000_00_1f.3.analog-stereo.monitor): Error opening InputStream: "
        "Device unavailable [PaErrorCode -9985]. Run `voxcap devices` to see what is there.")


def test_a_long_error_is_reachable_whole(qtbot, controller_with, monkeypatch):
    controller = controller_with()
    controller._on_error("Them", LONG.split(": ", 1)[1])
    window, overlay = controller.window, controller.overlay
    assert window.status.toolTip() == LONG and window.details_button.isVisibleTo(window)
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "open", lambda box: shown.append(box.text()))
    window.details_button.click()
    assert shown == [LONG]
    assert overlay.toolTip() == LONG
    overlay.show_notice()
    assert shown[-1] == LONG
    # Lag updates afterwards keep the error one click away.
    window.set_status("Them: lag 0.4 s")
    assert window.details_button.isVisibleTo(window)


def test_overlay_grows_upwards_and_stays_on_screen(qtbot):
    overlay = CaptionOverlay(OverlaySettings())
    qtbot.addWidget(overlay)
    overlay.show()
    area = QGuiApplication.primaryScreen().availableGeometry()
    overlay.setGeometry(QRect(area.x() + 40, area.bottom() - 150, 500, overlay.height()))
    bottom = overlay.geometry().bottom()
    bigger = OverlaySettings(font_size=40, lines=3)
    overlay.apply_settings(bigger)
    assert overlay.geometry().bottom() == bottom
    assert area.contains(overlay.geometry())
    # So big that the top would leave the screen: it moves down, still whole on screen.
    overlay.apply_settings(OverlaySettings(font_size=72, lines=5))
    assert area.contains(overlay.geometry()), (overlay.geometry(), area)


def test_overlay_comes_back_inside_after_a_screen_change(qtbot):
    overlay = CaptionOverlay(OverlaySettings())
    qtbot.addWidget(overlay)
    overlay.show()
    area = QGuiApplication.primaryScreen().availableGeometry()
    overlay.setGeometry(QRect(area.right() - 100, area.bottom() - 20, 500, overlay.height()))
    overlay.windowHandle().screenChanged.emit(QGuiApplication.primaryScreen())
    assert area.contains(overlay.geometry())


def test_model_window_offline_error_wraps_and_names_its_buttons(qtbot, make_manager):
    from app.ui.model_dialog import ModelDialog

    manager: ModelManager = make_manager()
    dialog = ModelDialog(manager)
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.progress.isVisible()  # nothing downloaded: no "0 %" bar
    dialog._failed("Cannot connect to https://huggingface.co: no network. Check that this "
                   "computer is online (and its proxy settings), then try again, or import a "
                   "folder that holds the files with `voxcap model import DIR`.")
    text = dialog.error.text()
    assert "voxcap model" not in text and "<b>Import folder…</b>" in text
    for f in manager.manifest.files:
        assert f.name in text
    assert manager.manifest.revision[:10] in text and "huggingface.co/" in text
    try:
        qtbot.waitUntil(lambda: dialog.error.height()
                        >= dialog.error.heightForWidth(dialog.error.width()))
        assert not dialog.progress.isVisible()
    finally:
        dialog.shutdown()
        dialog.wait(10000)


def test_window_titles_do_not_repeat_the_app_name(qtbot, controller_with):
    controller = controller_with()
    controller.open_models()
    controller.open_settings()
    controller.open_about()
    for window in (controller.overlay, controller.window, controller.model_dialog,
                   controller.settings_dialog, controller.about_dialog):
        title = window.windowTitle()
        # Qt appends " — voxcap" unless the title already ends with the app's name.
        assert "voxcap" not in title or title.endswith("voxcap"), title
        assert title.count("voxcap") <= 1


def test_rename_dialog_starts_with_the_name_and_fits_its_title(qtbot):
    panel = SessionsPanel()
    qtbot.addWidget(panel)
    seen: list[tuple[str, int, int]] = []

    def answer() -> None:
        dialog = next(w for w in QApplication.topLevelWidgets()
                      if isinstance(w, QInputDialog) and w.isVisible())
        title_width = dialog.fontMetrics().horizontalAdvance(dialog.windowTitle())
        seen.append((dialog.textValue(), dialog.width(), title_width))
        dialog.setTextValue("Monday review")
        dialog.accept()

    QTimer.singleShot(0, answer)
    assert panel.ask_name("Monday standup") == "Monday review"
    assert seen[0][0] == "Monday standup"
    assert seen[0][1] >= seen[0][2] + 120  # room for the title beside the window buttons


def test_a_gap_says_what_was_observed(qtbot, controller_with):
    from app.events import Gap

    controller = controller_with()
    controller._on_gap(Gap("system", 3.0, 2.5, "skip"))
    shown = controller.window.statusBar().currentMessage()
    assert shown.startswith("2.5 s of audio not captioned: captioning had fallen behind")
