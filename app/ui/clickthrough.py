"""Let mouse clicks pass through a window to whatever is underneath.

Qt's ``WindowTransparentForInput`` flag does this on X11, Wayland and macOS, but on Windows it
does not hand clicks to other applications; there the window needs the native extended styles
``WS_EX_TRANSPARENT | WS_EX_LAYERED``, set through ctypes on the window's handle.
"""
from __future__ import annotations

import sys

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

_GWL_EXSTYLE = -20
_WS_EX_TRANSPARENT = 0x00000020
_WS_EX_LAYERED = 0x00080000


def set_click_through(window: QWidget, on: bool) -> None:
    """Make ``window`` ignore (``on``) or take (not ``on``) mouse input."""
    if sys.platform == "win32":
        _set_windows_style(int(window.winId()), on)
        return
    if bool(window.windowFlags() & Qt.WindowType.WindowTransparentForInput) == on:
        return
    visible = window.isVisible()
    # Changing window flags re-creates the native window, which hides it.
    window.setWindowFlag(Qt.WindowType.WindowTransparentForInput, on)
    if visible:
        window.show()


def _set_windows_style(hwnd: int, on: bool) -> None:
    import ctypes

    user32 = ctypes.windll.user32  # type: ignore[attr-defined]
    style = user32.GetWindowLongW(hwnd, _GWL_EXSTYLE)
    # WS_EX_LAYERED stays: Qt's translucent windows are layered windows already.
    style = style | _WS_EX_LAYERED | _WS_EX_TRANSPARENT if on else style & ~_WS_EX_TRANSPARENT
    user32.SetWindowLongW(hwnd, _GWL_EXSTYLE, style)
