"""Render the app icon SVG to the PNG sizes desktops and installers ask for (16 to 256 px).

Run after editing app/ui/resources/icons/voxcap.svg:
    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/render-icons.py
"""
from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parent.parent / "app" / "ui" / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256)


def main() -> int:
    app = QGuiApplication(sys.argv)  # noqa: F841 -- QImage painting needs a GUI application
    renderer = QSvgRenderer(str(ICONS / "voxcap.svg"))
    if not renderer.isValid():
        print(f"cannot read {ICONS / 'voxcap.svg'}", file=sys.stderr)
        return 1
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        image.save(str(ICONS / f"voxcap-{size}.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
