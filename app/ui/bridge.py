"""Where worker threads meet the GUI: pipeline callbacks become Qt signals, long jobs get a thread.

:class:`PipelineBridge` hands :class:`app.live.pipeline.LivePipeline` plain callbacks that emit Qt
signals carrying the :mod:`app.events` dataclasses; Qt queues them onto the GUI thread because the
bridge lives there. :class:`Worker` is the one pattern for long one-off work (download, verify,
load the model, start or stop the pipeline): a QObject moved to its own QThread, jobs run in the
order submitted, results and errors come back as signals on the GUI thread, and the thread's
lifecycle (start, quit after the queued jobs, deleteLater) is wired here and nowhere else.
"""
from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.events import Gap, TextEvent
from app.transcript import StorageError, Transcript

log = logging.getLogger(__name__)


def user_message(exc: BaseException) -> str:
    """The words to show for ``exc``: its own message when it is meant for users."""
    if isinstance(exc, OSError) or _is_app_error(exc):
        return str(exc) or type(exc).__name__
    log.error("unexpected error", exc_info=exc)
    return f"Something went wrong ({type(exc).__name__}: {exc}). Details are in the log."


def _is_app_error(exc: BaseException) -> bool:
    # The app's and the engine's own exceptions (model manager, audio, transcript, checkpoint)
    # carry user-facing messages. Matched by module, so the GUI starts without importing torch.
    return type(exc).__module__.startswith(("app.", "engine."))


class PipelineBridge(QObject):
    """Signals for what the live pipeline reports from its threads.

    Text and gaps are also written into the transcript being recorded right there on the
    pipeline's thread, so the journal keeps everything even while the GUI is busy.
    """

    text = Signal(object)  # TextEvent
    gap = Signal(object)  # Gap
    status = Signal(object)  # SourceStatus
    error = Signal(str, str)  # label ("" for the whole pipeline), user-facing message

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._transcript: Transcript | None = None

    def record_into(self, transcript: Transcript | None) -> None:
        with self._lock:
            self._transcript = transcript

    def callbacks(self) -> dict[str, Callable[..., None]]:
        """Keyword arguments for LivePipeline: each emits the matching signal from any thread."""
        return {
            "on_text": self._on_text,
            "on_gap": self._on_gap,
            "on_status": self.status.emit,
            "on_error": self.error.emit,
        }

    def _on_text(self, event: TextEvent) -> None:
        self._record(Transcript.add_event, event)
        self.text.emit(event)

    def _on_gap(self, gap: Gap) -> None:
        self._record(Transcript.add_gap, gap)
        self.gap.emit(gap)

    def _record(self, add: Callable[[Transcript, Any], None], value: Any) -> None:
        # Held while adding, so once record_into(None) returns nothing more is added and the
        # transcript can be closed.
        with self._lock:
            if self._transcript is None:
                return
            try:
                add(self._transcript, value)
            except StorageError as exc:  # memory still has it; the user must free space
                self.error.emit("transcript", str(exc))


class _Runner(QObject):
    """Lives on the worker thread and runs each job it is sent."""

    done = Signal(int, object)
    failed = Signal(int, str)
    progress = Signal(int, object)

    @Slot(int, object, bool)
    def run(self, job_id: int, fn: Callable[..., Any], wants_progress: bool) -> None:
        try:
            if wants_progress:
                result = fn(lambda value: self.progress.emit(job_id, value))
            else:
                result = fn()
        except Exception as exc:  # noqa: BLE001 -- every failure must reach the GUI as words
            self.failed.emit(job_id, user_message(exc))
            return
        self.done.emit(job_id, result)

    @Slot()
    def stop(self) -> None:
        QThread.currentThread().quit()


class Worker(QObject):
    """A background thread that runs submitted jobs one after another."""

    finished = Signal()  # the thread has ended after close()
    _request = Signal(int, object, bool)
    _stop = Signal()

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._jobs: dict[int, tuple[Callable | None, Callable | None, Callable | None]] = {}
        self._thread = QThread()
        self._thread.setObjectName(name)
        self._runner = _Runner()
        self._runner.moveToThread(self._thread)
        self._request.connect(self._runner.run)
        self._stop.connect(self._runner.stop)
        self._runner.done.connect(self._on_done)
        self._runner.failed.connect(self._on_failed)
        self._runner.progress.connect(self._on_progress)
        self._thread.finished.connect(self._runner.deleteLater)
        self._thread.finished.connect(self.finished)
        self._thread.start()

    @property
    def busy(self) -> bool:
        return bool(self._jobs)

    @property
    def running(self) -> bool:
        return self._thread.isRunning()

    def submit(
        self,
        fn: Callable[..., Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
    ) -> None:
        """Run ``fn`` on the thread; with ``on_progress`` it is called as ``fn(report)``."""
        job_id = next(self._ids)
        self._jobs[job_id] = (on_done, on_error, on_progress)
        self._request.emit(job_id, fn, on_progress is not None)

    def close(self) -> None:
        """Let the queued jobs finish, then end the thread; ``finished`` says when. Never blocks."""
        self._stop.emit()

    def wait(self, ms: int) -> bool:
        """Block until the thread has ended; only for after the event loop has returned."""
        return self._thread.wait(ms)

    def _take(self, job_id: int) -> tuple[Callable | None, Callable | None, Callable | None]:
        return self._jobs.pop(job_id)

    @Slot(int, object)
    def _on_done(self, job_id: int, result: object) -> None:
        on_done, _, _ = self._take(job_id)
        if on_done is not None:
            on_done(result)

    @Slot(int, str)
    def _on_failed(self, job_id: int, message: str) -> None:
        _, on_error, _ = self._take(job_id)
        if on_error is not None:
            on_error(message)
        else:
            log.error("background job failed: %s", message)

    @Slot(int, object)
    def _on_progress(self, job_id: int, value: object) -> None:
        callbacks = self._jobs.get(job_id)
        if callbacks and callbacks[2] is not None:
            callbacks[2](value)
