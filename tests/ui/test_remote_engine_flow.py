"""The app on a remote engine: captions from a (fake) vLLM server; a failed server offers this
computer instead; switching engines in the settings reconnects live."""
from __future__ import annotations

import pytest

from app.settings import Settings
from app.ui.recorder import RecorderState
from tests.app.remote.fake_server import FakeServer
from tests.ui.test_app_flow import make_controller, wait_running  # noqa: F401


@pytest.fixture
def remote_settings():
    def make(url: str) -> Settings:
        settings = Settings()
        settings.engine.kind = "vllm"
        settings.engine.server_url = url
        return settings

    return make


def test_captions_come_from_the_server(qtbot, make_controller, remote_settings):  # noqa: F811
    with FakeServer() as server:
        controller = make_controller(remote_settings(server.url))
        controller.start()
        wait_running(qtbot, controller)
        qtbot.waitUntil(lambda: bool(controller.overlay.visible_lines()), timeout=30000)
        assert any(line.strip().startswith("w") for line in controller.overlay.visible_lines())
        assert server.connections >= 1


def test_an_unreachable_server_offers_this_computer(qtbot, make_controller,  # noqa: F811
                                                    remote_settings, tiny_checkpoint,
                                                    make_manager):
    with FakeServer() as server:
        url = server.url
    controller = make_controller(remote_settings(url))
    controller.start()
    qtbot.waitUntil(lambda: controller.recorder.state == RecorderState.ERROR, timeout=30000)
    assert "Not reachable" in controller.overlay._notice
    box = controller.engine_box
    assert box.isVisible() and "Use this computer instead?" in box.text()
    use_local = next(b for b in box.buttons() if b.text() == "Use this computer")
    controller._manager.ready_path = lambda: tiny_checkpoint  # this computer has a model
    use_local.click()
    assert controller.settings.engine.kind == "local"
    wait_running(qtbot, controller)


def test_switching_to_a_server_in_the_settings_reconnects(qtbot, make_controller,  # noqa: F811
                                                          tiny_checkpoint):
    controller = make_controller(Settings(), model_dir=None)
    controller._manager.ready_path = lambda: tiny_checkpoint
    controller.start()
    wait_running(qtbot, controller)
    with FakeServer() as server:
        new = Settings()
        new.engine.kind, new.engine.server_url = "vllm", server.url
        controller.apply_settings(new)
        qtbot.waitUntil(lambda: server.connections >= 1, timeout=30000)
        wait_running(qtbot, controller)
        assert controller.recorder.model_path is None  # the server's backend, not the model
        controller.quit()
        qtbot.waitUntil(lambda: not controller.recorder.control.running, timeout=60000)
