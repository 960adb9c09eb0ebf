"""Packaging tests run the installed ``voxcap`` program, as a user's menu or shell would.

Every test gets private data, config and XDG data folders, and Qt never opens a real window.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
import soundfile as sf

import engine
from tests.engine.conftest import chirp
from tests.tiny_checkpoint import write_checkpoint

DELAY_MS = 480
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


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    return write_checkpoint(tmp_path_factory.mktemp("tiny") / "checkpoint", seed=1)


@pytest.fixture(scope="session")
def chirp_wav(tmp_path_factory) -> Path:
    """Two seconds of sound the tiny checkpoint writes text for."""
    path = tmp_path_factory.mktemp("audio") / "chirp.wav"
    sf.write(path, chirp(2.0, seed=5), 16000)
    return path


@pytest.fixture(scope="session")
def expected_tokens(tiny_checkpoint, chirp_wav) -> list[int]:
    """What the engine in this source tree makes of ``chirp_wav`` (float32, as the commands
    below are told to use)."""
    audio, _ = sf.read(chirp_wav, dtype="float32")
    return engine.load_model(tiny_checkpoint).transcribe(audio, delay_ms=DELAY_MS).tokens
