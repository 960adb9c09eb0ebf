"""The shipped files: icons in every size, themes Qt can read, a valid desktop entry and metainfo."""
from __future__ import annotations

import shutil
import subprocess

import pytest
from PySide6.QtGui import QImage
from PySide6.QtSvg import QSvgRenderer

from app.ui.assets import ICON_SIZES, RESOURCES, app_icon
from app.ui.theme import palette


def test_icon_pngs_have_their_sizes_and_the_svg_renders(qapp):
    for size in ICON_SIZES:
        image = QImage(str(RESOURCES / "icons" / f"voxcap-{size}.png"))
        assert (image.width(), image.height()) == (size, size)
    assert QSvgRenderer(str(RESOURCES / "icons" / "voxcap.svg")).isValid()
    assert sorted(s.width() for s in app_icon().availableSizes()) == sorted(ICON_SIZES)


@pytest.mark.parametrize("theme", ["light", "dark", "high-contrast"])
def test_themes_name_only_real_palette_roles(qapp, theme):
    palette(theme)  # a misspelt role raises KeyError


@pytest.mark.parametrize(("tool", "args", "name"), [
    ("desktop-file-validate", [], "voxcap.desktop"),
    ("appstreamcli", ["validate", "--no-net"], "voxcap.metainfo.xml"),
])
def test_desktop_files_validate(tool, args, name):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (.ci/run installs it)")
    done = subprocess.run([tool, *args, str(RESOURCES / name)], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
