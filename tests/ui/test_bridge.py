"""The bridge: worker jobs run in order off the GUI thread, pipeline callbacks arrive as signals."""
from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QThread

from app.events import Gap, SourceState, SourceStatus, TextEvent
from app.transcript import StorageError, Transcript, create_session
from app.ui.bridge import PipelineBridge, Worker, user_message
from engine.errors import CheckpointError


@pytest.fixture
def worker(qtbot):
    w = Worker("test-worker")
    yield w
    with qtbot.waitSignal(w.finished, timeout=5000):
        w.close()
    assert w.wait(5000)


def test_jobs_run_in_order_on_the_worker_thread(qtbot, worker):
    gui = QThread.currentThread()
    ran: list[tuple[int, bool]] = []
    results: list[int] = []
    for n in range(5):
        worker.submit(lambda n=n: ran.append((n, QThread.currentThread() is gui)) or n,
                      on_done=results.append)
    assert worker.busy
    qtbot.waitUntil(lambda: len(results) == 5, timeout=5000)
    assert ran == [(n, False) for n in range(5)]
    assert results == list(range(5))
    assert not worker.busy


def test_progress_and_errors_come_back_as_words(qtbot, worker):
    seen, errors = [], []

    def job(report):
        for step in range(3):
            report(step)
        raise CheckpointError("params.json is missing; download the model again")

    worker.submit(job, on_error=errors.append, on_progress=seen.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    assert seen == [0, 1, 2]
    assert errors == ["params.json is missing; download the model again"]


def test_unexpected_errors_are_named_not_dumped():
    message = user_message(KeyError("x"))
    assert message.startswith("Something went wrong (KeyError")
    assert "Traceback" not in message
    assert user_message(OSError(28, "No space left on device")) == \
        "[Errno 28] No space left on device"


def test_close_lets_queued_jobs_finish_first(qtbot):
    w = Worker("closing")
    gate, done = threading.Event(), []
    w.submit(lambda: gate.wait(5) and time.sleep(0.05), on_done=done.append)
    with qtbot.waitSignal(w.finished, timeout=5000):
        w.close()  # returns at once; the thread ends after the job
        gate.set()
    assert w.wait(1000)
    assert w.running is False


def test_pipeline_callbacks_from_any_thread_become_signals_and_are_recorded(qtbot):
    bridge = PipelineBridge()
    transcript = create_session()
    bridge.record_into(transcript)
    calls = bridge.callbacks()
    received = []
    bridge.text.connect(lambda e: received.append(("text", e.text)))
    bridge.gap.connect(lambda g: received.append(("gap", g.reason)))
    bridge.status.connect(lambda s: received.append(("status", s.rtf)))
    bridge.error.connect(lambda src, msg: received.append(("error", src, msg)))

    def pipeline_thread():
        calls["on_text"](TextEvent("system", "Them", " hello", 0.0, 0.08, time.time()))
        calls["on_gap"](Gap("system", 0.08, 2.0, "skip", "Them"))
        calls["on_status"](SourceStatus("system", "Them", 0.5, 0.4, -20.0, SourceState.RUNNING))
        calls["on_error"]("Them", "device unplugged")

    thread = threading.Thread(target=pipeline_thread)
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: len(received) == 4, timeout=3000)
    assert received == [("text", " hello"), ("gap", "skip"), ("status", 0.4),
                        ("error", "Them", "device unplugged")]
    assert [s.text for s in transcript.segments] == ["hello", "[2.0 s skipped]"]
    transcript.close()


class FullDisk:
    """A journal on a disk that has just filled up."""

    def append(self, record: dict) -> None:
        raise StorageError("cannot write the journal: no space left. Free some space.")

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_a_transcript_that_cannot_save_says_so_and_captions_go_on(qtbot):
    bridge = PipelineBridge()
    transcript = Transcript(journal=FullDisk())
    bridge.record_into(transcript)
    texts = []
    bridge.text.connect(texts.append)
    with qtbot.waitSignal(bridge.error) as error:
        bridge.callbacks()["on_text"](TextEvent("system", "Them", " hi", 0.0, 0.1, time.time()))
    assert error.args == ["transcript", "cannot write the journal: no space left. Free some space."]
    assert [e.text for e in texts] == [" hi"]
    assert [s.text for s in transcript.segments] == ["hi"]  # kept in memory
