"""Every control has a name a screen reader can say, and the keyboard reaches all of them."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QKeySequenceEdit,
    QLineEdit,
    QProgressBar,
    QScrollBar,
    QTabBar,
    QWidget,
)

from app.audio import Inventory
from app.compute import available_devices
from app.settings import Settings
from app.ui.actions import AppActions
from app.ui.model_dialog import ModelDialog
from app.ui.settings_dialog import SettingsDialog
from app.ui.theme import palette
from app.ui.transcript_window import TranscriptWindow

CONTROLS = (QAbstractButton, QComboBox, QAbstractSlider, QAbstractSpinBox, QLineEdit,
            QKeySequenceEdit, QAbstractItemView, QTabBar, QProgressBar)


def controls(root: QWidget) -> list[QWidget]:
    """The widgets a user operates, not the parts Qt builds inside them."""
    found = []
    for w in root.findChildren(QWidget):
        if not isinstance(w, CONTROLS) or isinstance(w, QScrollBar) or not w.isVisibleTo(root):
            continue
        inner = w.parent()
        while inner is not None and inner is not root:
            if isinstance(inner, (QComboBox, QAbstractSpinBox, QKeySequenceEdit, QLineEdit,
                                  QAbstractItemView, QTabBar)):
                break
            inner = inner.parent()
        if inner is root or inner is None:
            found.append(w)
    return found


def spoken_name(w: QWidget) -> str:
    return QAccessible.queryAccessibleInterface(w).text(QAccessible.Text.Name).strip()


def focus_chain(root: QWidget) -> set[QWidget]:
    seen, w = set(), root.nextInFocusChain()
    while w is not root and w not in seen:
        seen.add(w)
        w = w.nextInFocusChain()
    return seen


@pytest.fixture
def windows(qtbot, make_manager):
    settings = SettingsDialog(Settings(), available_devices(), lambda: Inventory([], []))
    model = ModelDialog(make_manager())
    transcript = TranscriptWindow(AppActions())
    for w in (settings, model, transcript):
        qtbot.addWidget(w)
        w.show()
    yield {"settings": settings, "model": model, "transcript": transcript}
    model.shutdown()
    model.wait(5000)


@pytest.mark.parametrize("name", ["settings", "model", "transcript"])
def test_every_control_has_a_spoken_name(windows, name):
    root = windows[name]
    unnamed = [f"{type(w).__name__} {w.objectName()!r}" for w in controls(root)
               if not spoken_name(w)]
    assert controls(root) and unnamed == []


@pytest.mark.parametrize("name", ["settings", "model", "transcript"])
def test_every_control_is_reachable_with_the_keyboard(windows, name):
    root = windows[name]
    chain = focus_chain(root)
    unreachable = [f"{type(w).__name__} {spoken_name(w)!r}" for w in controls(root)
                   if not isinstance(w, QProgressBar)
                   and (w not in chain or not w.focusPolicy() & Qt.FocusPolicy.TabFocus)]
    assert unreachable == []


def contrast(a: str, b: str) -> float:
    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize(("theme", "minimum"), [("light", 4.5), ("dark", 4.5),
                                                 ("high-contrast", 7.0)])
def test_theme_text_contrast_meets_wcag(qapp, theme, minimum):
    pal = palette(theme)
    role = pal.ColorRole
    for fg, bg in ((role.WindowText, role.Window), (role.Text, role.Base),
                   (role.ButtonText, role.Button), (role.HighlightedText, role.Highlight)):
        ratio = contrast(pal.color(fg).name(), pal.color(bg).name())
        assert ratio >= minimum, (theme, fg, bg, ratio)
