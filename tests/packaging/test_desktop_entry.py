"""Linux desktop integration: an install that a desktop finds and can launch.

The shipped files themselves are validated in tests/ui/test_resources.py.
"""
from __future__ import annotations

import configparser
import os
import signal
import subprocess
import time
from pathlib import Path

import psutil

from app import desktop_entry
from tests.packaging.conftest import require_tool

RESOURCES = desktop_entry.RESOURCES
ICON_DIRS = ["16x16", "24x24", "32x32", "48x48", "64x64", "128x128", "256x256"]


def run_voxcap(program: Path | str, *args: str, env: dict | None = None):
    return subprocess.run([str(program), *args], capture_output=True, text=True, timeout=120,
                          env=env, check=False)


def read_entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def test_install_puts_entry_icons_and_metainfo_where_desktops_look(voxcap_program,
                                                                   isolated_dirs):
    result = run_voxcap(voxcap_program, "--install-desktop-entry")
    assert result.returncode == 0, result.stderr

    home = isolated_dirs
    entry_path = home / "applications" / "voxcap.desktop"
    entry = read_entry(entry_path)
    assert entry["Exec"] == str(voxcap_program)
    assert entry["TryExec"] == str(voxcap_program)
    assert entry["Icon"] == "voxcap"
    for size in ICON_DIRS:
        assert (home / "icons" / "hicolor" / size / "apps" / "voxcap.png").is_file()
    assert (home / "icons" / "hicolor" / "scalable" / "apps" / "voxcap.svg").is_file()
    metainfo = home / "metainfo" / "io.github.voxcap.voxcap.metainfo.xml"
    assert metainfo.read_bytes() == (RESOURCES / "voxcap.metainfo.xml").read_bytes()
    validate = require_tool("desktop-file-validate")
    assert subprocess.run([validate, str(entry_path)], check=False).returncode == 0

    # The Exec line is a command that runs this installation.
    version = run_voxcap(entry["Exec"], "--version")
    assert version.returncode == 0 and version.stdout.startswith("voxcap ")


def test_uninstall_removes_exactly_what_install_wrote(voxcap_program, isolated_dirs):
    home = isolated_dirs
    (home / "applications").mkdir(parents=True)
    other = home / "applications" / "other-app.desktop"
    other.write_text("[Desktop Entry]\n")
    assert run_voxcap(voxcap_program, "--install-desktop-entry").returncode == 0
    installed = {p for p in home.rglob("*") if p.is_file()} - {other}
    assert len(installed) == 10

    removed = run_voxcap(voxcap_program, "--uninstall-desktop-entry")
    assert removed.returncode == 0 and "removed 10 files" in removed.stdout
    assert {p for p in home.rglob("*") if p.is_file()} == {other}
    again = run_voxcap(voxcap_program, "--uninstall-desktop-entry")
    assert again.returncode == 0 and "no voxcap desktop entry" in again.stdout


def test_relative_xdg_data_home_is_ignored_for_the_default(voxcap_program, tmp_path):
    env = dict(os.environ, XDG_DATA_HOME="relative/share", HOME=str(tmp_path / "home"))
    assert run_voxcap(voxcap_program, "--install-desktop-entry", env=env).returncode == 0
    assert (tmp_path / "home" / ".local" / "share" / "applications" / "voxcap.desktop").is_file()


def test_failed_install_explains_and_leaves_no_file(voxcap_program, isolated_dirs):
    # A file where a folder must go: fails for every user, root included.
    home = isolated_dirs
    home.mkdir(parents=True)
    (home / "metainfo").write_text("not a folder")
    result = run_voxcap(voxcap_program, "--install-desktop-entry")
    assert result.returncode == 1
    assert "could not write" in result.stderr and "Traceback" not in result.stderr
    assert [p.name for p in home.rglob("*") if p.is_file()] == ["metainfo"]


def test_menu_entry_launches_the_installed_program(voxcap_program, isolated_dirs, tmp_path):
    """``gio launch`` reads the entry as GNOME does, from a folder whose name needs quoting."""
    gio = require_tool("gio")
    # No "%": GLib looks the program up before it turns "%%" back into "%", so no desktop
    # entry can start a program from such a folder in GNOME.
    folder = tmp_path / "my apps $HOME (x) \"q\" `b` \\back; #'"
    folder.mkdir()
    program = folder / "voxcap"
    program.symlink_to(voxcap_program)
    assert run_voxcap(program, "--install-desktop-entry").returncode == 0
    validate = require_tool("desktop-file-validate")
    entry_path = isolated_dirs / "applications" / "voxcap.desktop"
    assert subprocess.run([validate, str(entry_path)], check=False).returncode == 0

    subprocess.run([gio, "launch", str(entry_path)], check=True, timeout=60,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    launched = wait_for_process(str(program), timeout=60)
    try:
        assert str(program) in launched.cmdline()
    finally:
        launched.send_signal(signal.SIGINT)  # the app quits cleanly on Ctrl+C
        launched.wait(timeout=60)


def wait_for_process(argument: str, timeout: float) -> psutil.Process:
    """The process whose command line holds ``argument``, once it has started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in psutil.process_iter(["cmdline"]):
            if argument in (proc.info["cmdline"] or []):
                return proc
        time.sleep(0.2)
    raise AssertionError(f"nothing started {argument} within {timeout} s")
