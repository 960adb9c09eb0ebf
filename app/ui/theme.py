"""Light, dark and high-contrast looks for the whole app, or the system's own.

The palettes live in ``resources/themes.json`` (one colour per QPalette role) and are applied with
the Fusion style, which honours every palette role; high contrast adds a stylesheet with thick
borders and a yellow focus ring. Font sizes are never set here, so text follows the system scale.
"""
from __future__ import annotations

import json
from functools import cache

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from app.ui.assets import resource


@cache
def _themes() -> dict[str, dict[str, dict[str, str]]]:
    return json.loads(resource("themes.json").read_text(encoding="utf-8"))


def palette(name: str) -> QPalette:
    """The QPalette of one of the bundled themes ("light", "dark", "high-contrast")."""
    spec = _themes()[name]
    pal = QPalette()
    for group_name, group in (("active", QPalette.ColorGroup.All),
                              ("disabled", QPalette.ColorGroup.Disabled)):
        for role, colour in spec[group_name].items():
            pal.setColor(group, QPalette.ColorRole[role], QColor(colour))
    return pal


class ThemeManager:
    """Switches the application's look, and can go back to what the system gave at start."""

    def __init__(self, app: QApplication) -> None:
        self._app = app
        self._system_style = app.style().name()
        self._system_palette = QPalette(app.palette())
        self.current = "system"

    def apply(self, name: str) -> None:
        if name == self.current:
            return
        if name == "system":
            self._app.setStyle(QStyleFactory.create(self._system_style))
            self._app.setPalette(self._system_palette)
            self._app.setStyleSheet("")
        else:
            self._app.setStyle(QStyleFactory.create("Fusion"))
            self._app.setPalette(palette(name))
            sheet = resource("high-contrast.qss") if name == "high-contrast" else None
            self._app.setStyleSheet(sheet.read_text(encoding="utf-8") if sheet else "")
        self.current = name
