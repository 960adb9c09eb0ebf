"""Fixtures for the remote-engine tests: a fake realtime server, a keyring in memory."""
from __future__ import annotations

import pytest

from tests.app.remote.fake_server import FakeServer


@pytest.fixture
def fake_vllm():
    with FakeServer() as server:
        yield server


@pytest.fixture
def memory_keyring(monkeypatch):
    """A keyring that lives in this process only, chosen through the documented env variable."""
    import keyring
    import keyring.core

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.app.remote.memkeyring.MemoryKeyring")
    keyring.core.init_backend()
    yield keyring.get_keyring()
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    keyring.core.init_backend()


@pytest.fixture(scope="session")
def vllm_server(tmp_path_factory):
    """One real vLLM server for the whole test session (guarded by ``vllm_server.API_KEY``)."""
    from tests.app.remote import vllm_server as vs

    if not vs.venv_python().exists():
        pytest.skip(f"no vLLM venv at {vs.venv_python().parent.parent}; "
                    "run scripts/install-vllm.sh")
    server = vs.start_server(tmp_path_factory.mktemp("vllm"))
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def own_folders(tmp_path, monkeypatch):
    """Settings and sessions in the test's own folders, never the user's."""
    monkeypatch.setenv("VOXCAP_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("VOXCAP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("VOXCAP_API_KEY", raising=False)
