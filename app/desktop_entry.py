"""Put voxcap in a Linux desktop's app menu: the .desktop entry, its icons and AppStream metainfo.

``voxcap --install-desktop-entry`` copies them under ``$XDG_DATA_HOME`` (``~/.local/share`` by
default), where desktops look for a user's apps: ``applications/voxcap.desktop``,
``icons/hicolor/<n>x<n>/apps/voxcap.png`` (and ``scalable/apps/voxcap.svg``) and
``metainfo/<component id>.metainfo.xml``. The entry's Exec line names the voxcap program that
ran the install, so the menu starts that same installation (a pipx or uv tool venv, a plain venv,
the bundled app folder), which need not be on the desktop session's PATH.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from xml.etree import ElementTree

RESOURCES = Path(__file__).resolve().parent / "ui" / "resources"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)
DESKTOP_FILE = "voxcap.desktop"
# Desktop Entry spec: an argument holding one of these must be double-quoted.
RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def data_home() -> Path:
    value = os.environ.get("XDG_DATA_HOME", "")
    # The XDG Base Directory spec says to ignore a relative path.
    if value and Path(value).is_absolute():
        return Path(value)
    return Path.home() / ".local" / "share"


def launch_command() -> list[str]:
    """The program (with its arguments) that starts this same voxcap installation."""
    if getattr(sys, "frozen", False):  # the bundled app folder
        return [sys.executable]
    script = Path(sys.argv[0])
    if script.stem == "voxcap" and script.is_file():  # the installed console script
        return [str(script.absolute())]
    return [sys.executable, "-m", "app"]


def _escape_string(value: str) -> str:
    """A desktop entry string value: backslash and control characters escaped."""
    return value.translate({ord("\\"): "\\\\", ord("\n"): "\\n", ord("\t"): "\\t",
                            ord("\r"): "\\r"})


def _quote_argument(arg: str) -> str:
    arg = arg.replace("%", "%%")  # a lone % would start a field code
    if RESERVED.intersection(arg):
        escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
        arg = f'"{escaped}"'
    return arg


def exec_line(command: list[str]) -> str:
    """The Exec value that runs ``command``, quoted and escaped as the spec requires."""
    return _escape_string(" ".join(_quote_argument(arg) for arg in command))


def desktop_entry(command: list[str]) -> str:
    """The shipped .desktop file with its Exec (and TryExec) pointing at ``command``."""
    lines = []
    for line in (RESOURCES / DESKTOP_FILE).read_text(encoding="utf-8").splitlines():
        if line.startswith("Exec="):
            # TryExec hides the entry once that program is gone (e.g. after `pipx uninstall`).
            lines += [f"Exec={exec_line(command)}", f"TryExec={_escape_string(command[0])}"]
        elif not line.startswith("TryExec="):
            lines.append(line)
    return "\n".join(lines) + "\n"


def metainfo_source() -> Path:
    return RESOURCES / "voxcap.metainfo.xml"


def component_id() -> str:
    return ElementTree.parse(metainfo_source()).getroot().findtext("id", "").strip()


def planned_files(home: Path, command: list[str]) -> dict[Path, bytes]:
    """Where each installed file goes under ``home`` and what it holds."""
    icons = home / "icons" / "hicolor"
    files = {
        home / "applications" / DESKTOP_FILE: desktop_entry(command).encode("utf-8"),
        home / "metainfo" / f"{component_id()}.metainfo.xml": metainfo_source().read_bytes(),
        icons / "scalable" / "apps" / "voxcap.svg": (RESOURCES / "icons" / "voxcap.svg")
        .read_bytes(),
    }
    for size in ICON_SIZES:
        source = RESOURCES / "icons" / f"voxcap-{size}.png"
        files[icons / f"{size}x{size}" / "apps" / "voxcap.png"] = source.read_bytes()
    return files


def install(home: Path | None = None, command: list[str] | None = None) -> list[Path]:
    """Write the entry, icons and metainfo; on failure remove what this call wrote, then raise."""
    files = planned_files(home or data_home(), command or launch_command())
    written: list[Path] = []
    try:
        for path, content in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            written.append(path)
    except OSError:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return written


def uninstall(home: Path | None = None) -> list[Path]:
    """Remove what :func:`install` writes; the files that were there."""
    removed = []
    for path in planned_files(home or data_home(), ["voxcap"]):
        if path.exists():
            path.unlink()
            removed.append(path)
    return removed


def run(remove: bool) -> int:
    """``voxcap --install-desktop-entry`` / ``--uninstall-desktop-entry``: an exit code."""
    if sys.platform in ("win32", "darwin"):
        print("voxcap: the desktop entry is for Linux and BSD desktops. On Windows and macOS, "
              "start the app from the voxcap folder (see Install in the README).",
              file=sys.stderr)
        return 2
    home = data_home()
    try:
        paths = uninstall(home) if remove else install(home)
    except OSError as error:
        print(f"voxcap: could not {'remove' if remove else 'write'} {error.filename}: "
              f"{error.strerror}. Check that {home} is writable, or set XDG_DATA_HOME to a "
              "folder that is.", file=sys.stderr)
        return 1
    if remove:
        print(f"removed {len(paths)} files from {home}" if paths
              else f"no voxcap desktop entry was installed under {home}")
    else:
        print(f"voxcap is in the app menu: {home / 'applications' / DESKTOP_FILE} starts "
              f"{' '.join(launch_command())}")
    return 0
