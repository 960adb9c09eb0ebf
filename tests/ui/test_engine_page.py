"""Settings > Engine: this computer, a vLLM server (tested off the GUI thread), Mistral's API."""
from __future__ import annotations

import json

import pytest

from app.settings import Settings, load, save
from app.ui.settings_dialog import SettingsDialog
from tests.app.remote.fake_server import FakeServer
from tests.ui.test_settings_dialog import INVENTORY, changes


@pytest.fixture
def keys(monkeypatch):
    import keyring.core

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.app.remote.memkeyring.MemoryKeyring")
    keyring.core.init_backend()
    yield keyring.get_keyring().store
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    keyring.core.init_backend()


@pytest.fixture
def dialog(qtbot, keys):
    def make(settings: Settings | None = None) -> SettingsDialog:
        from app.compute import available_devices

        widget = SettingsDialog(settings or Settings(), available_devices(), lambda: INVENTORY)
        qtbot.addWidget(widget)
        widget.show()
        return widget

    return make


def test_this_computer_is_the_default_and_mistral_says_audio_leaves(qtbot, dialog):
    d = dialog()
    page = d.engine
    assert page.buttons["local"].isChecked()
    assert not page.server_box.isEnabled() and not page.mistral_box.isEnabled()
    assert "Audio is sent to Mistral AI's servers" in page.privacy.text()
    new = changes(qtbot, d, lambda: page.buttons["mistral"].setChecked(True))
    assert new.engine.kind == "mistral" and page.mistral_box.isEnabled()


def test_keys_go_to_the_keyring_never_to_settings_json(qtbot, dialog, keys, tmp_path):
    d = dialog()
    page = d.engine
    page.buttons["vllm"].setChecked(True)
    page.address.setText("ws://gpu-box:8000")
    page.address.editingFinished.emit()
    page.server_key.setText("server-secret")
    page.server_key.editingFinished.emit()
    page.mistral_key.setText("mistral-secret")
    page.mistral_key.editingFinished.emit()
    assert keys == {("voxcap", "vllm:gpu-box:8000"): "server-secret",
                    ("voxcap", "mistral"): "mistral-secret"}
    path = tmp_path / "settings.json"
    save(d.current(), path)
    text = path.read_text()
    assert "secret" not in text
    assert json.loads(text)["engine"]["server_url"] == "ws://gpu-box:8000"
    assert load(path).engine.kind == "vllm"


def test_test_connection_fills_models_and_disables_the_delay_slider(qtbot, dialog, keys):
    with FakeServer(models=("voxtral-a", "voxtral-b"), api_key="k-9") as server:
        keys[("voxcap", f"vllm:127.0.0.1:{server.port}")] = "k-9"
        d = dialog(Settings())
        page = d.engine
        page.buttons["vllm"].setChecked(True)
        page.address.setText(server.url)
        page.address.editingFinished.emit()
        assert page.server_key.text() == "k-9"  # the stored key for that server
        page.model.setCurrentText("voxtral-b")
        with qtbot.waitSignal(page.checked, timeout=15000) as signal:
            page.test.click()
            assert not page.test.isEnabled()  # the check runs elsewhere; the GUI goes on
        result = signal.args[0]
    assert result.ok
    assert [page.model.itemText(i) for i in range(page.model.count())] == ["voxtral-a",
                                                                           "voxtral-b"]
    assert "API key accepted." in page.result.text()
    assert "Model found: voxtral-b" in page.result.text()
    assert d.current().engine.server_delay_ms == 480
    assert not d.transcription.delay.isEnabled()
    assert d.transcription.delay_value.text() == "set by the server (480 ms)"
    changes(qtbot, d, lambda: page.buttons["local"].setChecked(True))
    assert d.transcription.delay.isEnabled()
    assert d.transcription.delay_value.text() == "480 ms"


def test_a_refused_key_and_an_unreachable_server_read_plainly(qtbot, dialog, keys):
    d = dialog()
    page = d.engine
    page.buttons["vllm"].setChecked(True)
    with FakeServer(api_key="right") as server:
        page.address.setText(server.url)
        page.server_key.setText("wrong")
        with qtbot.waitSignal(page.checked, timeout=15000):
            page.test.click()
        assert "API key refused" in page.result.text()
        assert "wrong" not in page.result.text()
    with qtbot.waitSignal(page.checked, timeout=15000):
        page.test.click()
    assert page.result.text().startswith("Not reachable: cannot reach 127.0.0.1")
