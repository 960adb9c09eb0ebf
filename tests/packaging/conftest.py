"""Packaging tests run the installed ``voxcap`` program, as a user's menu or shell would.

Every test gets private data, config and XDG data folders, and Qt never opens a real window.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before pytest-qt creates the QApplication


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    for var, name in (("VOXCAP_DATA_DIR", "data"), ("VOXCAP_CONFIG_DIR", "config"),
                      ("XDG_DATA_HOME", "xdg-data")):
        monkeypatch.setenv(var, str(tmp_path / name))
    return tmp_path / "xdg-data"


@pytest.fixture(scope="session")
def voxcap_program() -> Path:
    """The console script installed beside the Python running the tests."""
    program = Path(sys.executable).parent / "voxcap"
    assert program.is_file(), f"{program} is missing: run  pip install -e .  in this venv"
    return program


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (.ci/run installs it)")
    return path
