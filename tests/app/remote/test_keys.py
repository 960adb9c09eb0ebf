"""API keys: in the keyring only; the environment variable first; never in settings or errors."""
from __future__ import annotations

from app.live import remote_keys


def test_keys_round_trip_through_the_keyring(memory_keyring, monkeypatch):
    monkeypatch.delenv("VOXCAP_API_KEY", raising=False)
    name = remote_keys.account("vllm", "ws://gpu-box:8000/v1/realtime")
    assert name == "vllm:gpu-box:8000"
    assert remote_keys.get_key(name) is None
    remote_keys.set_key(name, "k-123")
    assert memory_keyring.store == {("voxcap", "vllm:gpu-box:8000"): "k-123"}
    assert remote_keys.resolve_key(name) == "k-123"
    remote_keys.set_key(name, "")  # an empty key deletes
    assert memory_keyring.store == {}
    remote_keys.delete_key(name)  # deleting nothing is fine


def test_the_environment_variable_comes_first(memory_keyring, monkeypatch):
    remote_keys.set_key(remote_keys.MISTRAL, "from-keyring")
    monkeypatch.setenv("VOXCAP_API_KEY", "from-env")
    assert remote_keys.resolve_key(remote_keys.MISTRAL) == "from-env"
    monkeypatch.delenv("VOXCAP_API_KEY")
    assert remote_keys.resolve_key(remote_keys.MISTRAL) == "from-keyring"


def test_a_keyring_that_fails_gives_no_key_and_logs_no_secret(monkeypatch, caplog):
    import keyring
    from keyring.errors import KeyringLocked

    def locked(*_):
        raise KeyringLocked("locked")

    monkeypatch.setattr(keyring, "get_password", locked)
    monkeypatch.setattr(remote_keys, "_warned", set())
    assert remote_keys.get_key("mistral") is None
    assert "cannot read the keyring (KeyringLocked)" in caplog.text
    assert remote_keys.get_key("vllm:gpu-box:8000") is None  # the settings opened again
    assert caplog.text.count("cannot read the keyring") == 1  # said once, not at every read
