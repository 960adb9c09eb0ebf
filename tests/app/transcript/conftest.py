"""Every transcript test gets its own data and config folders."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VOXCAP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOXCAP_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "data"
