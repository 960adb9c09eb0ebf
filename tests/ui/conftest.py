"""Qt tests run without a display (offscreen platform) and never touch the user's folders.

Shared fixtures: a loopback Hub serving a tiny but real checkpoint (so a downloaded model loads
and captions), model managers pointed at it, and a tiny checkpoint folder on disk.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from huggingface_hub import constants

from app.models import ModelManager
from tests.hubserver import HubServer
from tests.tiny_checkpoint import write_checkpoint

# Before pytest-qt creates the QApplication: no window ever appears on a developer's screen.
os.environ["QT_QPA_PLATFORM"] = "offscreen"

REPO = "voxcap-tests/tiny-voxtral"
REVISION = "0123456789abcdef0123456789abcdef01234567"
CHECKPOINT_FILES = ("params.json", "tekken.json", "consolidated.safetensors")


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    """Private data and config folders; no Hugging Face token, endpoint or offline switch."""
    data, config = tmp_path / "data", tmp_path / "config"
    monkeypatch.setenv("VOXCAP_DATA_DIR", str(data))
    monkeypatch.setenv("VOXCAP_CONFIG_DIR", str(config))
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_ENDPOINT", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "hf-home" / "token"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    return data, config


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    return write_checkpoint(tmp_path_factory.mktemp("tiny") / "checkpoint")


@pytest.fixture
def hub(tiny_checkpoint: Path) -> Iterator[HubServer]:
    files = {name: (tiny_checkpoint / name).read_bytes() for name in CHECKPOINT_FILES}
    with HubServer(REPO, REVISION, files) as server:
        yield server


@pytest.fixture
def make_manager(hub: HubServer, tmp_path: Path) -> Callable[[], ModelManager]:
    def make() -> ModelManager:
        return ModelManager(hub.manifest(), endpoint=hub.url, hf_cache=tmp_path / "hf-cache",
                            retries=2, retry_wait=0.01)

    return make


SPEECH = (
    "Good morning and welcome to the weekly meeting. Today we look at the release plan, the "
    "open bugs and the schedule for next month. Please keep your questions for the end. "
    "First, the release is nearly ready and the tests pass on every machine we have."
)


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory) -> Path:
    """About fifteen seconds of synthetic speech."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.skip("espeak-ng is not installed (.ci/run installs it)")
    path = tmp_path_factory.mktemp("speech") / "meeting.wav"
    subprocess.run([espeak, "-s", "150", "-w", str(path), SPEECH], check=True)
    return path
