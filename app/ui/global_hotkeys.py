"""System-wide hotkeys where the platform allows an app to register them: Windows.

Windows delivers a key combination registered with ``RegisterHotKey`` to the app whatever has
the focus, as a ``WM_HOTKEY`` message that Qt hands to native event filters. X11 would need a
global key grab that breaks under Wayland, and macOS needs an accessibility permission, so
elsewhere the hotkeys stay application-wide shortcuts (see :mod:`app.ui.actions`).
"""
from __future__ import annotations

import sys
from collections.abc import Callable

from PySide6.QtCore import QAbstractNativeEventFilter, QCoreApplication, Qt
from PySide6.QtGui import QKeySequence

_MODIFIERS = {  # Qt modifier -> RegisterHotKey's fsModifiers bit
    Qt.KeyboardModifier.AltModifier: 0x0001,
    Qt.KeyboardModifier.ControlModifier: 0x0002,
    Qt.KeyboardModifier.ShiftModifier: 0x0004,
    Qt.KeyboardModifier.MetaModifier: 0x0008,
}
_MOD_NOREPEAT = 0x4000  # holding the keys down toggles once, not over and over
_WM_HOTKEY = 0x0312
_SPECIAL_KEYS = {Qt.Key.Key_Space: 0x20, Qt.Key.Key_Pause: 0x13, Qt.Key.Key_Insert: 0x2D,
                 Qt.Key.Key_Home: 0x24, Qt.Key.Key_End: 0x23, Qt.Key.Key_ScrollLock: 0x91}


def windows_hotkey(sequence: str) -> tuple[int, int] | None:
    """(fsModifiers, virtual-key code) for a one-chord sequence, or None if it has no such code."""
    keys = QKeySequence(sequence)
    if keys.count() != 1:
        return None
    chord = keys[0]
    key, mods = chord.key(), chord.keyboardModifiers()
    if Qt.Key.Key_A.value <= key.value <= Qt.Key.Key_Z.value or \
            Qt.Key.Key_0.value <= key.value <= Qt.Key.Key_9.value:
        vk = key.value  # Windows' codes for letters and digits are their ASCII codes
    elif Qt.Key.Key_F1.value <= key.value <= Qt.Key.Key_F24.value:
        vk = 0x70 + key.value - Qt.Key.Key_F1.value
    elif key in _SPECIAL_KEYS:
        vk = _SPECIAL_KEYS[key]
    else:
        return None
    flags = _MOD_NOREPEAT
    for qt_mod, bit in _MODIFIERS.items():
        if mods & qt_mod:
            flags |= bit
    return flags, vk


class GlobalHotkeys(QAbstractNativeEventFilter):
    """Registers key sequences system-wide on Windows; ``register`` says whether it could."""

    def __init__(self) -> None:
        super().__init__()
        self._callbacks: dict[int, Callable[[], None]] = {}
        self._installed = False

    def register(self, sequence: str, callback: Callable[[], None]) -> bool:
        code = windows_hotkey(sequence) if sys.platform == "win32" and sequence else None
        if code is None:
            return False
        import ctypes

        hotkey_id = len(self._callbacks) + 1
        if not ctypes.windll.user32.RegisterHotKey(None, hotkey_id, *code):  # type: ignore[attr-defined]
            return False  # another app holds this combination
        self._callbacks[hotkey_id] = callback
        if not self._installed:
            QCoreApplication.instance().installNativeEventFilter(self)
            self._installed = True
        return True

    def clear(self) -> None:
        if sys.platform == "win32":
            import ctypes

            for hotkey_id in self._callbacks:
                ctypes.windll.user32.UnregisterHotKey(None, hotkey_id)  # type: ignore[attr-defined]
        self._callbacks.clear()

    def nativeEventFilter(self, event_type: bytes, message: int) -> tuple[bool, int]:
        if event_type == b"windows_generic_MSG":
            from ctypes import wintypes

            msg = wintypes.MSG.from_address(int(message))
            if msg.message == _WM_HOTKEY and msg.wParam in self._callbacks:
                self._callbacks[msg.wParam]()
                return True, 0
        return False, 0
