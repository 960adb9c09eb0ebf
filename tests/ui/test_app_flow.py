"""The whole app in-process: first start, captions from the real pipeline, live settings, quit.

A tiny random checkpoint stands in for the real model (it writes random text, but writes it
when it hears speech) and a speech file stands in for the microphone or the speakers.
"""
from __future__ import annotations

import copy
import json
import shutil
import time

import pytest
import torch

from app.audio import Inventory, open_source
from app.settings import Settings
from app.transcript import list_sessions
from app.ui.controller import AppController
from app.ui.main import run_app
from app.ui.recorder import RecorderState
from engine.packed import half_gemm_ok
from engine.quant import Int8Linear

STARTED = (RecorderState.RUNNING, RecorderState.ERROR)  # the recorder got somewhere


@pytest.fixture
def make_controller(qtbot, make_manager, speech_wav, tmp_path):
    made: list[AppController] = []
    # The speech file stands in for every device; a copy per kind keeps their source ids apart.
    files = {kind: shutil.copy(speech_wav, tmp_path / f"{kind}.wav") for kind in ("mic", "system")}

    def make(settings: Settings | None = None, **options) -> AppController:
        options.setdefault("source_factory",
                           lambda spec, **kw: open_source(str(files[spec.split(":")[0]]), **kw))
        controller = AppController(settings or Settings(), manager=make_manager(),
                                   audio_devices=lambda: Inventory([], []), **options)
        made.append(controller)
        return controller

    yield make
    for controller in made:
        controller.quit()  # does nothing when the test quit already
        qtbot.waitUntil(lambda c=controller: not c.recorder.control.running, timeout=60000)
        controller.wait_for_workers(10000)
        for window in (controller.overlay, controller.window, controller.settings_dialog,
                       controller.model_dialog, controller.about_dialog):
            if window is not None:
                window.deleteLater()


def wait_running(qtbot, controller: AppController) -> None:
    qtbot.waitUntil(lambda: controller.recorder.state in STARTED, timeout=60000)
    assert controller.recorder.state == RecorderState.RUNNING, controller.overlay._notice


def all_caption_text(controller: AppController) -> str:
    return " ".join("".join(line.joiner + line.text for line in controller.overlay._lines.lines)
                    .split())


def test_first_start_without_a_model_opens_the_model_dialog_then_captions(qtbot,
                                                                           make_controller):
    controller = make_controller()
    controller.start()
    dialog = controller.model_dialog
    assert dialog is not None and dialog.isVisible()
    assert controller.overlay.isVisible()
    assert controller.overlay._notice.startswith("No speech model yet")
    dialog.download_button.click()
    wait_running(qtbot, controller)
    qtbot.waitUntil(lambda: bool(controller.overlay.visible_lines()), timeout=60000)
    qtbot.waitUntil(lambda: controller.window.model.rowCount() > 0, timeout=10000)


def test_captions_only_grow_and_show_the_configured_lines(qtbot, make_controller,
                                                          tiny_checkpoint):
    settings = Settings()
    settings.overlay.lines = 2
    settings.overlay.font_size = 28
    controller = make_controller(settings, model_dir=tiny_checkpoint)
    texts: list[str] = []
    snapshots: list[list[str]] = []

    def check(event) -> None:  # runs after the controller's own slot
        texts.append(event.text)
        lines = [line.text for line in controller.overlay._lines.lines]
        if snapshots:  # every full line stays exactly as it was
            assert lines[: len(snapshots[-1]) - 1] == snapshots[-1][:-1]
        snapshots.append(lines)

    controller.start()
    controller.bridge.text.connect(check)
    wait_running(qtbot, controller)
    qtbot.waitUntil(lambda: len(snapshots[-1]) > 2 if snapshots else False, timeout=60000)
    assert all_caption_text(controller) == " ".join("".join(texts).split())
    assert len(controller.overlay.visible_lines()) == 2
    assert not any(": " in line[:6] for line in controller.overlay.visible_lines())


def test_two_sources_are_labelled(qtbot, make_controller, tiny_checkpoint):
    settings = Settings()
    settings.sources.mode = "both"
    settings.overlay.lines = 6
    controller = make_controller(settings, model_dir=tiny_checkpoint)
    controller.start()
    wait_running(qtbot, controller)

    def labelled() -> set[str]:
        return {line.label for line in controller.overlay._lines.lines if line.label}

    qtbot.waitUntil(lambda: labelled() == {"Me", "Them"}, timeout=60000)
    qtbot.waitUntil(lambda: {s.source for s in controller.window.model.segments()} >= {"Me",
                                                                                         "Them"},
                    timeout=10000)


def test_settings_changes_restart_streams_live(qtbot, make_controller, tiny_checkpoint,
                                               isolated_dirs):
    controller = make_controller(model_dir=tiny_checkpoint)
    controller.start()
    wait_running(qtbot, controller)
    pipeline = controller.recorder.pipeline
    controller.open_settings()
    dialog = controller.settings_dialog
    dialog.transcription.delay.setValue(12)  # 960 ms
    qtbot.waitUntil(lambda: pipeline.delay_ms == 960, timeout=30000)
    assert controller.recorder.pipeline is pipeline  # the same pipeline: streams restarted

    dialog.sources.mode_buttons["both"].setChecked(True)
    qtbot.waitUntil(lambda: {s.label for s in controller._statuses.values()} == {"Me", "Them"},
                    timeout=30000)
    assert controller.recorder.pipeline is pipeline

    # What runs, and why, is on the page: automatic took float32 (bfloat16 without fbgemm).
    in_use = dialog.transcription.in_use
    best = "float32" if half_gemm_ok() else "bfloat16"
    assert in_use.text().startswith(f"In use: cpu, {best}: needs ")
    assert "(the best mode here that fits)" in in_use.text() and in_use.isVisible()
    model = controller.recorder.model
    dialog.transcription.precision.setCurrentIndex(
        dialog.transcription.precision.findData("int8"))
    qtbot.waitUntil(lambda: controller.recorder.model not in (None, model), timeout=60000)
    wait_running(qtbot, controller)
    assert controller.recorder.model.dtype == torch.bfloat16  # int8 weights, bf16 activations
    assert any(isinstance(m, Int8Linear) for m in controller.recorder.model.net.modules())
    assert in_use.text().startswith("In use: cpu, int8 weights, bfloat16 activations: ")
    assert in_use.text().endswith("(chosen by you).")

    saved = isolated_dirs[1] / "settings.json"
    qtbot.waitUntil(lambda: saved.exists() and json.loads(saved.read_text())["precision"]
                    == "int8", timeout=5000)
    data = json.loads(saved.read_text())
    assert (data["delay_ms"], data["sources"]["mode"]) == (960, "both")


def test_pause_and_resume(qtbot, make_controller, tiny_checkpoint):
    controller = make_controller(model_dir=tiny_checkpoint)
    controller.start()
    wait_running(qtbot, controller)
    controller.actions.pause.trigger()
    qtbot.waitUntil(lambda: controller.recorder.pipeline.paused, timeout=30000)
    assert controller.overlay._notice == "Paused"
    controller.actions.pause.trigger()
    qtbot.waitUntil(lambda: not controller.recorder.pipeline.paused, timeout=30000)
    assert controller.recorder.state == RecorderState.RUNNING


def test_quit_never_blocks_and_saves_the_transcript(qtbot, make_controller, tiny_checkpoint):
    controller = make_controller(model_dir=tiny_checkpoint)
    controller.start()
    wait_running(qtbot, controller)
    qtbot.waitUntil(lambda: controller.window.model.rowCount() > 0, timeout=60000)
    began = time.monotonic()
    with qtbot.waitSignal(controller.finished, timeout=60000):
        controller.quit()
        assert time.monotonic() - began < 0.5  # the pipeline stops on the worker thread
        assert not controller.overlay.isVisible()
    [session] = list_sessions()
    assert session.closed and session.duration > 0 and session.sources == ("Them",)


def test_a_broken_checkpoint_is_reported_in_plain_words(qtbot, make_controller, tmp_path):
    controller = make_controller(model_dir=tmp_path)
    controller.start()
    qtbot.waitUntil(lambda: controller.recorder.state == RecorderState.ERROR, timeout=60000)
    assert controller.overlay._notice.startswith("The speech model could not be loaded: ")
    assert "Traceback" not in controller.overlay._notice


def test_run_app_refuses_a_model_path_that_is_not_a_folder(tmp_path, capsys):
    assert run_app(str(tmp_path / "nowhere")) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_a_source_that_cannot_open_is_explained_and_fixed_live(qtbot, make_controller,
                                                                 tiny_checkpoint, speech_wav):
    settings = Settings()
    settings.sources.system_device = "no-such-output"
    controller = make_controller(
        settings, model_dir=tiny_checkpoint,
        source_factory=lambda spec, **kw: open_source(
            str(speech_wav) if spec == "system" else spec, **kw))
    controller.start()
    qtbot.waitUntil(lambda: controller.recorder.state == RecorderState.ERROR, timeout=60000)
    assert "no-such-output" in controller.overlay._notice
    fixed = copy.deepcopy(controller.settings)
    fixed.sources.system_device = ""
    controller.apply_settings(fixed)
    wait_running(qtbot, controller)
    qtbot.waitUntil(lambda: bool(controller.overlay.visible_lines()), timeout=60000)


def test_quitting_while_the_model_loads_starts_nothing(qtbot, make_controller, tiny_checkpoint):
    controller = make_controller(model_dir=tiny_checkpoint)
    controller.start()
    with qtbot.waitSignal(controller.finished, timeout=60000):
        controller.quit()
    assert controller.recorder.pipeline is None
    assert list_sessions() == []
