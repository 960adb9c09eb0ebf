"""Where voxcap keeps its files: platformdirs' per-user folders, overridable for tests.

``VOXCAP_DATA_DIR`` / ``VOXCAP_CONFIG_DIR`` override the defaults so tests and portable installs
never touch the real user folders.
"""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "voxcap"


def data_dir() -> Path:
    """Models, verification records and session journals."""
    env = os.environ.get("VOXCAP_DATA_DIR")
    return Path(env) if env else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    """settings.json."""
    env = os.environ.get("VOXCAP_CONFIG_DIR")
    return Path(env) if env else Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
