"""Fixtures for the model manager's tests: a loopback Hub serving a tiny checkpoint, and managers
pointed at it with private folders and short retry waits."""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from huggingface_hub import constants

from app.models import Manifest, ModelManager
from tests.hubserver import TINY_REPO, TINY_REVISION, HubServer, tiny_checkpoint

BIG = "consolidated.safetensors"


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Waits until ``condition()`` holds (something another thread or process does)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def flip_byte(path: Path, offset: int = 4321, keep_mtime: bool = False) -> None:
    """Damages a file in place, optionally hiding it from a size-and-mtime check."""
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    if keep_mtime:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def file_size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


@pytest.fixture(autouse=True)
def private_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No real user folder, token, endpoint or offline switch leaks into a test."""
    monkeypatch.setenv("VOXCAP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOXCAP_CONFIG_DIR", str(tmp_path / "config"))
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_ENDPOINT", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "hf-home" / "token"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


@pytest.fixture
def hub() -> Iterator[HubServer]:
    with HubServer(TINY_REPO, TINY_REVISION, tiny_checkpoint()) as server:
        yield server


@pytest.fixture
def manifest(hub: HubServer) -> Manifest:
    return hub.manifest()


@pytest.fixture
def hf_cache(tmp_path: Path) -> Path:
    return tmp_path / "hf-cache"


@pytest.fixture
def make_manager(
    hub: HubServer, manifest: Manifest, hf_cache: Path
) -> Callable[..., ModelManager]:
    """A fresh manager each call: a second one is what the app sees after a restart."""

    def make(**overrides: object) -> ModelManager:
        options: dict = {"endpoint": hub.url, "hf_cache": hf_cache, "retries": 3, "retry_wait": 0.01}
        options.update(overrides)
        return ModelManager(manifest, **options)

    return make


@pytest.fixture
def manager(make_manager: Callable[..., ModelManager]) -> ModelManager:
    return make_manager()


@pytest.fixture
def ready(manager: ModelManager) -> ModelManager:
    """A manager whose model has been downloaded and verified."""
    assert manager.download().ready
    return manager
