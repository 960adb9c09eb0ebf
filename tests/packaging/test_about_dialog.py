"""The About dialog shows what `voxcap --version` prints, readable and reachable by keyboard."""
from __future__ import annotations

from dataclasses import replace

import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QLabel, QWidget

import app
from app.about import about
from app.models.manifest import DEFAULT_MANIFEST
from app.ui.about_dialog import AboutDialog


def facts_shown(dialog: AboutDialog) -> dict[str, str]:
    return {label.accessibleName(): label.text() for label in dialog.findChildren(QLabel)
            if label.accessibleName()}


def test_shows_version_model_revision_torch_and_licenses(qtbot):
    dialog = AboutDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    shown = facts_shown(dialog)

    assert f"voxcap {app.__version__}" in shown["Version"]
    assert shown["Model revision"] == DEFAULT_MANIFEST.revision
    page = f"https://huggingface.co/{DEFAULT_MANIFEST.repo_id}/tree/{DEFAULT_MANIFEST.revision}"
    assert f'href="{page}"' in shown["Speech model"]
    assert shown["Model license"] == "Apache-2.0"
    assert shown["voxcap license"] == "Apache-2.0"
    assert shown["torch build"] == torch.__version__


def test_every_focusable_control_has_a_name_and_tab_reaches_the_revision(qtbot):
    dialog = AboutDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    focusable = [w for w in dialog.findChildren(QWidget)
                 if w.focusPolicy() & Qt.FocusPolicy.TabFocus and w.isVisible()]
    assert focusable
    assert all(w.accessibleName() for w in focusable), [type(w).__name__ for w in focusable]

    reached = set()
    for _ in range(len(focusable) + 2):
        qtbot.keyClick(dialog.focusWidget() or dialog, Qt.Key.Key_Tab)
        reached.add(dialog.focusWidget())
    assert dialog.revision in reached


def test_unknown_torch_build_and_close_button(qtbot):
    dialog = AboutDialog(replace(about(), torch=None))
    qtbot.addWidget(dialog)
    dialog.show()
    assert facts_shown(dialog)["torch build"] == "unknown"

    close = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Close)
    assert close.accessibleName() == "Close About"
    qtbot.mouseClick(close, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
