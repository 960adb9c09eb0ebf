"""The model dialog against a loopback Hub: progress, cancel and resume, errors, verify, import."""
from __future__ import annotations

import shutil
import threading

import pytest
from PySide6.QtCore import Qt

from app.ui.model_dialog import ModelDialog, describe, time_left
from tests.hubserver import Stall
from tests.ui.conftest import CHECKPOINT_FILES

BIG = "consolidated.safetensors"


@pytest.fixture
def dialog(qtbot, make_manager):
    widget = ModelDialog(make_manager())
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.shutdown()
    assert widget.wait(10000)


def click(qtbot, button) -> None:
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_download_shows_progress_and_ends_ready(qtbot, dialog):
    assert "Not downloaded yet" in dialog.state_label.text()
    assert not dialog.verify_button.isEnabled()
    with qtbot.waitSignal(dialog.model_ready, timeout=30000) as ready:
        click(qtbot, dialog.download_button)
    folder = ready.args[0]
    assert sorted(p.name for p in folder.iterdir() if p.name in CHECKPOINT_FILES) == sorted(
        CHECKPOINT_FILES)
    assert dialog.progress.value() == 1000
    assert dialog.state_label.text().startswith("Ready")
    assert not dialog.download_button.isEnabled()
    assert dialog.error.text() == ""


def test_cancel_keeps_the_partial_file_and_resume_finishes_it(qtbot, dialog, hub):
    release = threading.Event()
    hub.fault(BIG, Stall(after=200_000, release=release))
    click(qtbot, dialog.download_button)
    qtbot.waitUntil(lambda: dialog.detail.text().startswith(f"Downloading {BIG}"),
                    timeout=20000)
    qtbot.waitUntil(lambda: hub.served(BIG) >= 200_000, timeout=20000)
    assert not dialog.download_button.isEnabled()
    click(qtbot, dialog.cancel_button)
    assert dialog.detail.text().startswith("Cancelling")
    release.set()  # the stalled connection breaks; the manager sees the cancel
    qtbot.waitUntil(lambda: not dialog.busy, timeout=20000)
    assert dialog.detail.text().startswith("Cancelled")
    assert dialog.error.text() == ""
    assert "Partly downloaded" in dialog.state_label.text()
    assert dialog.download_button.text() == "&Resume download"

    with qtbot.waitSignal(dialog.model_ready, timeout=30000):
        click(qtbot, dialog.download_button)
    gets = [r for r in hub.requests("data") if r.file == BIG and r.method == "GET"]
    # Continued with a Range request where the kept part ends, not from scratch.
    assert any(r.start > 0 and r.status == 206 for r in gets)


def test_a_refused_download_is_explained_in_plain_words(qtbot, dialog, hub):
    hub.gated = True
    click(qtbot, dialog.download_button)
    qtbot.waitUntil(lambda: dialog.error.text() != "", timeout=20000)
    assert "accept" in dialog.error.text() and "Traceback" not in dialog.error.text()
    assert dialog.download_button.isEnabled()  # the user can try again after fixing it


def test_verify_names_a_damaged_file(qtbot, dialog):
    with qtbot.waitSignal(dialog.model_ready, timeout=30000) as ready:
        click(qtbot, dialog.download_button)
    target = ready.args[0] / BIG
    data = bytearray(target.read_bytes())
    data[1000] ^= 0xFF
    target.write_bytes(bytes(data))
    dialog.refresh()
    click(qtbot, dialog.verify_button)
    qtbot.waitUntil(lambda: dialog.error.text() != "", timeout=20000)
    assert BIG in dialog.error.text()
    assert dialog.download_button.text() == "&Resume download"


def test_import_from_a_folder(qtbot, dialog, tiny_checkpoint, tmp_path):
    folder = tmp_path / "my copy"
    folder.mkdir()
    for name in CHECKPOINT_FILES:
        shutil.copy(tiny_checkpoint / name, folder / name)
    with qtbot.waitSignal(dialog.model_ready, timeout=30000):
        dialog.import_folder(folder)
    assert dialog.state_label.text().startswith("Ready")


def test_import_of_a_wrong_folder_says_what_is_missing(qtbot, dialog, tmp_path):
    dialog.import_folder(tmp_path)
    qtbot.waitUntil(lambda: dialog.error.text() != "", timeout=20000)
    assert "params.json" in dialog.error.text()


def test_status_words_and_time_left(make_manager):
    assert "Not downloaded yet" in describe(make_manager().status())
    assert time_left(float("inf")) == "time left unknown"
    assert time_left(42) == "42 s left"
    assert time_left(600) == "about 10 min left"
