"""Before Qt starts: is there a display, and can Qt's X11 platform plugin load?

Without a display, or with a system library the plugin needs missing, Qt aborts the process
("could not load the Qt platform plugin xcb", exit 134) after voxcap has spent seconds
starting. These checks import neither Qt nor torch, so the answer comes at once, and they name
the library and the package that provides it.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

# soname -> (Debian/Ubuntu package, Fedora package, Arch package)
PACKAGES: dict[str, tuple[str, str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm", "xcb-util-wm"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image", "xcb-util-image"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms", "xcb-util-keysyms"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil",
                                "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util", "xcb-util"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb", "libx11"),
    "libX11.so.6": ("libx11-6", "libX11", "libx11"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon", "libxkbcommon"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl", "libglvnd"),
    "libGL.so.1": ("libgl1", "libglvnd-glx", "libglvnd"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl", "libglvnd"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype", "freetype2"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2", "glib2"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs", "dbus"),
}


def display_problem(environ: dict[str, str] | None = None) -> str | None:
    """Why no window can open on this Linux/BSD session, or None (other systems: always None)."""
    env = os.environ if environ is None else environ
    if not sys.platform.startswith(("linux", "freebsd", "openbsd")):
        return None
    if any(env.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
        return None
    return ("no graphical display found (neither DISPLAY nor WAYLAND_DISPLAY is set). Start "
            "voxcap from a desktop session, or use `voxcap live` in a terminal.")


def missing_libraries(environ: dict[str, str] | None = None) -> list[str]:
    """System libraries (sonames) Qt's X11 plugin needs that the loader cannot find.

    Empty when Qt will not use X11 (Wayland, another platform, not Linux) or when ``ldd``, which
    lists every missing library at once, is not there to ask.
    """
    env = os.environ if environ is None else environ
    platform = env.get("QT_QPA_PLATFORM", "")
    x11 = platform.startswith("xcb") or (not platform and env.get("DISPLAY")
                                         and not env.get("WAYLAND_DISPLAY"))
    if not sys.platform.startswith("linux") or not x11 or shutil.which("ldd") is None:
        return []
    plugin = _qt_dir() / "plugins" / "platforms" / "libqxcb.so"
    if not plugin.is_file():
        return []
    done = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, check=False)
    found = re.findall(r"^\s*(\S+) => not found", done.stdout, re.MULTILINE)
    return list(dict.fromkeys(found))


def install_advice(sonames: list[str]) -> str:
    """What to tell a user whose system lacks ``sonames``: the packages, per distribution."""
    known = [PACKAGES[s] for s in sonames if s in PACKAGES]
    unknown = [s for s in sonames if s not in PACKAGES]
    parts = []
    if known:
        debian, fedora, arch = (sorted({p[i] for p in known}) for i in range(3))
        parts.append(f"Debian/Ubuntu: sudo apt install {' '.join(debian)}; "
                     f"Fedora: sudo dnf install {' '.join(fedora)}; "
                     f"Arch: sudo pacman -S {' '.join(arch)}")
    if unknown:
        parts.append(f"find the package that provides {', '.join(unknown)} "
                     "(Debian/Ubuntu: apt-file search NAME)")
    return ". ".join(parts)


def gui_problem() -> str | None:
    """The one-line reason the app cannot open its window here, or None when it should."""
    problem = display_problem()
    if problem:
        return problem
    missing = missing_libraries()
    if not missing:
        return None
    return (f"the app cannot open its window: Qt's X11 support needs {', '.join(missing)}, "
            f"which {'is' if len(missing) == 1 else 'are'} not installed. Install "
            f"{'it' if len(missing) == 1 else 'them'} ({install_advice(missing)}), then start "
            "voxcap again. `voxcap live` works without them.")


def _qt_dir() -> Path:
    spec = importlib.util.find_spec("PySide6")  # finds the package without loading Qt
    if spec is None or spec.origin is None:
        return Path("/nonexistent")
    return Path(spec.origin).parent / "Qt"
