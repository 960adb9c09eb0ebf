"""Qt tests run without a display (offscreen platform) and never touch the user's folders."""
from __future__ import annotations

import os

import pytest

# Before pytest-qt creates the QApplication: no window ever appears on a developer's screen.
os.environ["QT_QPA_PLATFORM"] = "offscreen"


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    data, config = tmp_path / "data", tmp_path / "config"
    monkeypatch.setenv("VOXCAP_DATA_DIR", str(data))
    monkeypatch.setenv("VOXCAP_CONFIG_DIR", str(config))
    return data, config

