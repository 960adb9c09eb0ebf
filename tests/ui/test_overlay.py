"""The caption overlay on its own: rolling text, labels, dimming, moving, places, click-through."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication

from app.settings import OverlaySettings
from app.ui import placement
from app.ui.actions import AppActions
from app.ui.overlay import CaptionOverlay


@pytest.fixture
def overlay(qtbot):
    def make(**changes) -> CaptionOverlay:
        widget = CaptionOverlay(OverlaySettings(**changes), AppActions())
        qtbot.addWidget(widget)
        widget.resize(600, widget.height())
        widget.show()
        qtbot.waitExposed(widget)
        return widget

    return make


def feed(widget: CaptionOverlay, text: str, source: str = "system", label: str = "Them"):
    for word in text.split():
        widget.add_text(source, label, " " + word)


def test_window_is_a_frameless_always_on_top_tool(overlay):
    w = overlay()
    flags = w.windowFlags()
    assert flags & Qt.WindowType.FramelessWindowHint
    assert flags & Qt.WindowType.WindowStaysOnTopHint
    assert w.testAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)


def test_text_grows_and_only_the_configured_number_of_lines_shows(overlay, qtbot):
    w = overlay(lines=2, font_size=20)
    feed(w, "one two three four five six seven eight nine ten " * 6)
    shown = w.visible_lines()
    assert len(shown) == 2
    assert shown[-1].endswith("ten")
    # The two lines are the tail of everything said, in order.
    assert " ".join(shown) in " ".join(["one two three four five six seven eight nine ten"] * 6)
    w.grab()  # paints mid-roll without error
    qtbot.waitUntil(lambda: w._offset == 0.0, timeout=2000)


def test_more_lines_make_a_taller_window(overlay):
    heights = [overlay(lines=n).height() for n in (1, 3, 6)]
    assert heights[0] < heights[1] < heights[2]
    assert overlay(font_size=40).height() > overlay(font_size=12).height()


def test_labels_mark_each_speaker_when_on(overlay):
    w = overlay(lines=3)
    w.set_labels(True)
    feed(w, "hello", "mic", "Me")
    feed(w, "hi there", "system", "Them")
    assert w.visible_lines() == ["Me: hello", "Them: hi there"]


def test_no_labels_with_one_source(overlay):
    w = overlay(lines=3)
    feed(w, "hello there", "mic", "Me")
    assert w.visible_lines() == ["hello there"]


def test_dims_after_silence_and_wakes_on_new_text(overlay, qtbot):
    w = overlay(dim_after_s=0.2)
    feed(w, "hello")
    assert not w.dimmed
    qtbot.waitUntil(lambda: w.dimmed, timeout=3000)
    feed(w, "again")
    assert not w.dimmed


def test_never_dims_when_disabled(overlay, qtbot):
    w = overlay(dim_after_s=0.0)
    feed(w, "hello")
    assert not w._silence.isActive()


def test_dragging_moves_it_and_reports_its_place(overlay, qtbot):
    w = overlay()
    w.move(100, 100)
    start = w.pos()
    with qtbot.waitSignal(w.place_changed, timeout=3000) as signal:
        qtbot.mousePress(w, Qt.MouseButton.LeftButton, pos=QPoint(200, 20))
        qtbot.mouseMove(w, QPoint(260, 50))
        qtbot.mouseRelease(w, Qt.MouseButton.LeftButton, pos=QPoint(260, 50))
    assert w.pos() == start + QPoint(60, 30)
    key, place = signal.args
    assert key == placement.screen_key(w.screen())
    assert place[:2] == [w.x() - w.screen().geometry().x(), w.y() - w.screen().geometry().y()]


def test_dragging_the_right_edge_resizes(overlay, qtbot):
    w = overlay()
    width = w.width()
    qtbot.mousePress(w, Qt.MouseButton.LeftButton, pos=QPoint(width - 3, 20))
    qtbot.mouseMove(w, QPoint(width + 47, 20))
    qtbot.mouseRelease(w, Qt.MouseButton.LeftButton, pos=QPoint(width + 47, 20))
    assert w.width() == width + 50


def test_locked_overlay_does_not_move(overlay, qtbot):
    w = overlay(locked=True)
    w.move(100, 100)
    qtbot.mousePress(w, Qt.MouseButton.LeftButton, pos=QPoint(200, 20))
    qtbot.mouseMove(w, QPoint(260, 50))
    qtbot.mouseRelease(w, Qt.MouseButton.LeftButton, pos=QPoint(260, 50))
    assert w.pos() == QPoint(100, 100)


def test_restores_the_place_saved_for_this_screen(overlay):
    screen = QGuiApplication.primaryScreen()
    key = placement.screen_key(screen)
    w = overlay(places={key: [40, 50, 500, 10], "gone 1x1": [0, 0, 300, 10]},
                last_screen="gone 1x1")
    w.restore_place()
    g = screen.geometry()
    assert (w.x() - g.x(), w.y() - g.y(), w.width()) == (40, 50, 500)


def test_default_place_is_bottom_centre(overlay):
    w = overlay()
    w.restore_place()
    g = QGuiApplication.primaryScreen().availableGeometry()
    assert abs(w.geometry().center().x() - g.center().x()) <= 1
    assert w.y() > g.center().y()


def test_click_through_sets_the_input_transparency_flag(overlay):
    w = overlay()
    settings = OverlaySettings(click_through=True)
    w.apply_settings(settings)
    assert w.windowFlags() & Qt.WindowType.WindowTransparentForInput
    assert w.isVisible()
    w.apply_settings(OverlaySettings())
    assert not w.windowFlags() & Qt.WindowType.WindowTransparentForInput


def test_notice_shows_when_there_are_no_captions(overlay):
    w = overlay()
    w.set_notice("Loading the model…")
    image = w.grab().toImage()
    assert not image.isNull()
    assert w.visible_lines() == []
