"""Files shipped with the app (icons, themes, desktop entry), found beside this package.

They are package data of ``app.ui`` (see pyproject.toml), so an installed wheel has them too.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QIcon

RESOURCES = Path(__file__).resolve().parent / "resources"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)


def resource(name: str) -> Path:
    return RESOURCES / name


def app_icon() -> QIcon:
    """The voxcap icon with every rendered size, so small tray icons stay crisp."""
    icon = QIcon()
    for size in ICON_SIZES:
        icon.addFile(str(RESOURCES / "icons" / f"voxcap-{size}.png"))
    return icon
