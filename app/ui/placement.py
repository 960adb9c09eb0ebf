"""Where the overlay goes: one remembered place per screen, a sensible default otherwise.

A place is stored relative to its screen's top-left corner, keyed by the screen's name and size,
so a laptop that is docked and undocked puts the captions back where they were on each screen.
"""
from __future__ import annotations

from PySide6.QtCore import QRect
from PySide6.QtGui import QGuiApplication, QScreen

MIN_WIDTH = 320  # pixels: narrower captions cannot be read or grabbed


def screen_key(screen: QScreen) -> str:
    g = screen.geometry()
    return f"{screen.name() or 'screen'} {g.width()}x{g.height()}"


def to_place(screen: QScreen, rect: QRect) -> list[int]:
    g = screen.geometry()
    return [rect.x() - g.x(), rect.y() - g.y(), rect.width(), rect.height()]


def default_rect(screen: QScreen, height: int) -> QRect:
    """Centred near the bottom, where subtitles usually are, 60 % of the screen wide."""
    g = screen.availableGeometry()
    width = max(MIN_WIDTH, int(g.width() * 0.6))
    return QRect(g.x() + (g.width() - width) // 2, g.bottom() - height - g.height() // 12,
                 width, height)


def inside(rect: QRect, screen: QScreen) -> QRect:
    """``rect`` moved (and if it must, shrunk) to lie within the screen's usable area."""
    g = screen.availableGeometry()
    width, height = min(rect.width(), g.width()), min(rect.height(), g.height())
    x = min(max(rect.x(), g.x()), g.x() + g.width() - width)
    y = min(max(rect.y(), g.y()), g.y() + g.height() - height)
    return QRect(x, y, width, height)


def restore_rect(places: dict[str, list[int]], last_screen: str, height: int) -> QRect:
    """The rectangle for the overlay on the screens connected now."""
    screens = {screen_key(s): s for s in QGuiApplication.screens()}
    keys = [last_screen] + list(places)
    key = next((k for k in keys if k in places and k in screens), None)
    if key is None:
        return default_rect(QGuiApplication.primaryScreen(), height)
    screen = screens[key]
    x, y, width, _ = places[key]
    g = screen.geometry()
    width = min(max(width, MIN_WIDTH), g.width())
    # Keep it fully on the screen even if the saved place came from a larger layout.
    x = min(max(0, x), g.width() - width)
    y = min(max(0, y), g.height() - height)
    return QRect(g.x() + x, g.y() + y, width, height)
