"""The real app on a real sound server: speech played to the speakers becomes captions.

PulseAudio runs with the null sink ``voxcap_test`` as the default output (scripts/
start-pulseaudio.sh); espeak-ng speech is played into it, and the app captures the sink's
monitor exactly as it captures a user's speakers. The tiny checkpoint writes random words, so
the tests check that captions appear and are saved, not what they say.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from app import settings as settings_file
from app.transcript import list_sessions
from app.ui.controller import AppController
from app.ui.main import make_application
from app.ui.recorder import RecorderState
from tests.app.audio.conftest import pulse_server  # noqa: F401 -- the shared fixture
from tests.app.audio.support import play

pytestmark = pytest.mark.audio

STARTED = (RecorderState.RUNNING, RecorderState.ERROR)  # the recorder got somewhere


def test_speech_on_the_speakers_becomes_captions_in_the_overlay(qtbot, pulse_server,  # noqa: F811
                                                                 tiny_checkpoint, speech_wav):
    make_application()
    controller = AppController(settings_file.load(), model_dir=tiny_checkpoint)
    controller.start()
    try:
        qtbot.waitUntil(lambda: controller.recorder.state in STARTED,
                        timeout=60000)
        assert controller.recorder.state == RecorderState.RUNNING, controller.overlay._notice
        player = play(speech_wav, "voxcap_test")
        qtbot.waitUntil(lambda: bool(controller.overlay.visible_lines()), timeout=60000)
        assert controller.overlay.isVisible()
        qtbot.waitUntil(lambda: controller.window.model.rowCount() > 0, timeout=30000)
        assert {s.source for s in controller.window.model.segments()} == {"Them"}
        player.terminate()
    finally:
        controller.quit()
        qtbot.waitUntil(lambda: not controller.recorder.control.running, timeout=60000)
        controller.wait_for_workers(10000)
    [session] = list_sessions()
    assert session.closed and session.duration > 0


def test_voxcap_command_captions_and_saves_on_ctrl_c(pulse_server, tiny_checkpoint,  # noqa: F811
                                                     speech_wav, isolated_dirs):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    app = subprocess.Popen([sys.executable, "-m", "app", "--model", str(tiny_checkpoint)],
                           env=env, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_capture(app)
        player = play(speech_wav, "voxcap_test")
        journal = wait_for_journal(isolated_dirs[0] / "sessions", app)  # made by the first text
        wait_for_text(journal, app)
        player.terminate()
        app.send_signal(signal.SIGINT)
        assert app.wait(60) == 0, app.stderr.read()
    finally:
        if app.poll() is None:
            app.kill()
    [session] = list_sessions()
    assert session.closed  # Ctrl+C went through the normal quit: the journal was closed


def wait_for_capture(app: subprocess.Popen, timeout: float = 90.0) -> None:
    """PulseAudio lists the app's recording stream once its model is loaded and capture runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert app.poll() is None, app.stderr.read()
        streams = subprocess.run(["pactl", "list", "short", "source-outputs"],
                                 capture_output=True, text=True, check=False).stdout
        if streams.strip():
            return
        time.sleep(0.2)  # another process: nothing to wait on but what PulseAudio shows
    raise AssertionError("the app did not start capturing")


def wait_for_journal(sessions, app: subprocess.Popen, timeout: float = 90.0):
    """The journal the app creates once its model is loaded and the pipeline started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert app.poll() is None, app.stderr.read()
        found = list(sessions.glob("*/journal.jsonl")) if sessions.is_dir() else []
        if found:
            return found[0]
        time.sleep(0.2)  # another process: nothing to wait on but its files
    raise AssertionError("the app did not start a session")


def wait_for_text(journal, app: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert app.poll() is None, app.stderr.read()
        lines = journal.read_text(encoding="utf-8").splitlines()
        if any(json.loads(line).get("type") == "text" for line in lines if line.strip()):
            return
        time.sleep(0.2)
    raise AssertionError("no caption text reached the session journal")
