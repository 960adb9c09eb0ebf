"""Before Qt starts: no display, or a system library Qt's X11 plugin needs, is said at once."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import cli
from app.ui import preflight

REPO = Path(__file__).resolve().parents[2]

# Loaded by the child: importing torch or Qt fails, so an answer that needs neither is proven
# to come before them (torch alone took 14 s on a cold laptop).
NO_TORCH_NO_QT = """
import sys

class _Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "PySide6"):
            raise ImportError(f"{name} must not be imported before the display is checked")
        return None

sys.meta_path.insert(0, _Refuse())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland are Linux's")
def test_no_display_is_said_before_torch_or_qt_load(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(NO_TORCH_NO_QT)
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["PYTHONPATH"] = f"{tmp_path}{os.pathsep}{REPO}"
    done = subprocess.run([sys.executable, "-m", "app"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert done.stderr.startswith("voxcap: no graphical display found"), done.stderr
    assert "Traceback" not in done.stderr


LDD_WITHOUT_CURSOR = """\
\tlinux-vdso.so.1 (0x00007ffc)
\tlibQt6XcbQpa.so.6 => /x/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f)
\tlibxcb-cursor.so.0 => not found
\tlibxkbcommon-x11.so.0 => not found
\tlibxcb-cursor.so.0 => not found
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ldd and xcb are Linux's")
def test_a_missing_xcb_library_is_named_with_its_packages(monkeypatch, capsys):
    def ldd(cmd, **kw):
        assert cmd[0] == "ldd" and cmd[1].endswith("libqxcb.so")
        return subprocess.CompletedProcess(cmd, 0, LDD_WITHOUT_CURSOR, "")

    monkeypatch.setattr(preflight.subprocess, "run", ldd)
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    assert preflight.missing_libraries() == ["libxcb-cursor.so.0", "libxkbcommon-x11.so.0"]
    assert cli.main([]) == 1
    err = capsys.readouterr().err
    assert err.startswith("voxcap: the app cannot open its window")
    assert "sudo apt install libxcb-cursor0 libxkbcommon-x11-0" in err
    assert "sudo dnf install libxkbcommon-x11 xcb-util-cursor" in err
    assert "sudo pacman -S libxkbcommon-x11 xcb-util-cursor" in err


def test_wayland_and_offscreen_do_not_need_xcb():
    assert preflight.missing_libraries({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}) == []
    assert preflight.missing_libraries({"QT_QPA_PLATFORM": "offscreen"}) == []


def test_this_machine_has_what_qt_needs():
    """The test machine is set up by .ci/run, which installs what the README names."""
    if not os.environ.get("DISPLAY"):
        env = {"DISPLAY": ":0"}
    else:
        env = dict(os.environ)
    env.pop("WAYLAND_DISPLAY", None)
    env.pop("QT_QPA_PLATFORM", None)
    assert preflight.missing_libraries(env) == []
