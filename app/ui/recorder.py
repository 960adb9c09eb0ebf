"""The recorder: the loaded model, the live pipeline and the session it records into.

Everything that can wait (loading the model, starting or stopping streams, which may wait on
devices and threads, closing the journal) runs on the recorder's control worker, one job after
another in the order asked, so the GUI never blocks and a stop can never overtake a start. The
state it reports (a :class:`RecorderState`) and a notice in plain words drive the views.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.live.backend import Backend
from app.live.lane import SourceConfig
from app.live.local import LocalBackend
from app.live.pipeline import LivePipeline
from app.settings import Settings
from app.transcript import (
    StorageError,
    Transcript,
    create_session,
    reopen_session,
    session_exists,
)
from app.ui.bridge import PipelineBridge, Worker

log = logging.getLogger(__name__)


def load_model(path: Path, device: str, dtype: Any,
               progress: Callable[[float], None] | None = None) -> Any:
    """The model on ``device`` in precision ``dtype``: the settings' choices ("auto" allowed in
    both; "int8" for int8 weights). ``progress`` gets the fraction loaded (see
    :func:`engine.load_model`).

    The choice is sized against the memory free on the device before anything loads
    (:func:`app.compute.choose`): "auto" takes the best mode that fits, and a choice that
    cannot fit raises NotEnoughMemory with the numbers. The reason for the choice is logged and
    kept as the model's ``chosen_because``. The managed model's verified weights let int8 weights
    be stored beside them once and mapped on later starts.
    """
    import engine  # torch and the model code load only when a model is wanted
    from app.compute import DTYPES, choose, configure_threads, resolve

    precision = dtype if isinstance(dtype, str) else str(dtype).removeprefix("torch.")
    if precision in DTYPES:  # one this device cannot use (settings from a GPU machine) falls back
        device, torch_dtype = resolve(device, precision)
        precision = str(torch_dtype).removeprefix("torch.")
    device = resolve(device, "auto")[0]
    configure_threads(device)
    choice = choose(device, precision, path)
    log.info("speech model: %s", choice.reason)
    model = engine.load_model(path, device=choice.device, dtype=choice.dtype,
                              quantize=choice.quantize, source_sha256=_verified_sha256(path),
                              progress=progress)
    model.chosen_because = choice.reason
    return model


def _verified_sha256(path: Path) -> str | None:
    """The verified sha256 of the managed model's weights when ``path`` is that model."""
    from app.models import ModelManager
    from engine.weights import WEIGHTS

    manager = ModelManager()
    same = Path(path).resolve() == manager.folder.resolve()
    return manager.verified_sha256(WEIGHTS) if same else None


def make_pipeline(model: Any, sources: list[tuple[str, str]], **options: Any) -> LivePipeline:
    """``model``: a loaded engine model, or a backend already (a remote engine's)."""
    backend = model if isinstance(model, Backend) else LocalBackend(model)
    return LivePipeline(backend, source_configs(sources), **options)


def source_configs(sources: list[tuple[str, str]]) -> list[SourceConfig]:
    return [SourceConfig(spec, label) for spec, label in sources]


class RecorderState(StrEnum):
    IDLE = "idle"
    NO_MODEL = "no-model"  # no speech model yet: the user must get one
    LOADING = "loading"  # the speech model is loading
    STARTING = "starting"  # the model is ready; sources are opening
    RUNNING = "running"  # recording
    PAUSED = "paused"
    STOPPED = "stopped"
    ERROR = "error"  # the model failed to load, or captioning failed; the notice says why


class Recorder(QObject):
    state_changed = Signal(object, str)  # RecorderState, notice for people ("" for none)
    session_changed = Signal(object)  # the Transcript now recording, or None
    session_closed = Signal(str)  # id of a session just closed and saved
    finished = Signal()  # after close(): stopped and saved

    def __init__(
        self,
        settings: Callable[[], Settings],
        bridge: PipelineBridge,
        *,
        load: Callable[..., Any] = load_model,
        pipeline_factory: Callable[..., Any] = make_pipeline,
        source_factory: Callable[..., Any] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings = settings
        self._bridge = bridge
        self._load = load
        self._pipeline_factory = pipeline_factory
        self._source_factory = source_factory
        self.control = Worker("voxcap-control", self)
        self.control.finished.connect(self.finished)
        self.state = RecorderState.IDLE
        self.model: Any = None
        self.model_path: Path | None = None
        self.pipeline: Any = None
        self.transcript: Transcript | None = None
        self._closing = False

    def _set_state(self, state: RecorderState, notice: str = "") -> None:
        self.state = state
        self.state_changed.emit(state, notice)

    def _fail(self, message: str) -> None:
        self._set_state(RecorderState.ERROR, message)

    # -- model --------------------------------------------------------------------------------

    def load(self, path: Path, device: str, dtype: Any) -> None:
        """Load (or reload) the model off the GUI thread, then start captioning."""
        self.model_path = path
        self._set_state(RecorderState.LOADING, "Loading the speech model…")
        old, self.pipeline, self.model = self.pipeline, None, None

        def job() -> Any:
            if old is not None:
                old.stop()
            return self._load(path, device=device, dtype=dtype, progress=self._loading)

        self.control.submit(job, on_done=self._loaded,
                            on_error=lambda m: self._fail(f"The speech model could not be "
                                                          f"loaded: {m}"))

    def use_remote(self, make_backend: Callable[[], Any], where: str) -> None:
        """Use a remote engine: ``make_backend`` checks the server and builds the backend,
        off the GUI thread; then captioning starts. A failure is an ERROR state whose notice
        says why (the server's finding)."""
        self.model_path = None
        self._set_state(RecorderState.LOADING, f"Connecting to {where}…")
        old, self.pipeline, self.model = self.pipeline, None, None

        def job() -> Any:
            if old is not None:
                old.stop()
            return make_backend()

        self.control.submit(job, on_done=self._loaded,
                            on_error=lambda m: self._fail(f"The speech engine at {where} "
                                                          f"cannot be used: {m}"))

    def _loading(self, fraction: float) -> None:
        """From the loading thread: the share of the model loaded, in the notice."""
        if self.state == RecorderState.LOADING:
            self.state_changed.emit(RecorderState.LOADING,
                                    f"Loading the speech model… {round(100 * fraction)}%")

    def _loaded(self, model: Any) -> None:
        self.model = model
        self.start()
        reason = getattr(model, "chosen_because", "")
        if reason and self.state == RecorderState.STARTING:
            self._set_state(RecorderState.STARTING, f"Starting… Speech model on {reason}")

    # -- recording ------------------------------------------------------------------------------

    def start(self) -> None:
        """Caption and record into the open session, or a new one."""
        if self.model is None or self.pipeline is not None or self._closing:
            return
        if self.transcript is None:
            try:
                self._open(create_session(keep=self._settings().keep_transcripts))
            except StorageError as exc:
                self._fail(str(exc))
                return
        else:
            self.transcript.resume()  # a new pipeline starts its audio clocks at zero
        settings = self._settings()
        options = {"source_factory": self._source_factory} if self._source_factory else {}
        self.pipeline = self._pipeline_factory(
            self.model, settings.source_specs(), delay_ms=settings.delay_ms,
            **options, **self._bridge.callbacks())
        self._set_state(RecorderState.STARTING, "Starting…")
        self.control.submit(self.pipeline.start,
                            on_done=lambda _: self._set_state(RecorderState.RUNNING),
                            on_error=self._start_failed)

    def _start_failed(self, message: str) -> None:
        self.pipeline = None
        self._fail(message)

    def set_paused(self, paused: bool) -> None:
        pipeline = self.pipeline
        if pipeline is None or paused == (self.state == RecorderState.PAUSED):
            return
        self.control.submit(pipeline.pause if paused else pipeline.resume, on_error=self._fail)
        if paused:
            self._set_state(RecorderState.PAUSED, "Paused")
        else:
            self._set_state(RecorderState.RUNNING)

    def stop(self) -> None:
        """Stop captioning and close the session, saved; ``start`` then opens a new one."""
        pipeline, transcript = self.pipeline, self.transcript
        self.pipeline, self.transcript = None, None
        self.session_changed.emit(None)
        self.control.submit(lambda: self._stop_and_close(pipeline, transcript),
                            on_done=lambda _: self._stopped(transcript), on_error=self._fail)

    def _stop_and_close(self, pipeline: Any, transcript: Transcript | None) -> None:
        if pipeline is not None:
            pipeline.stop()
        self._bridge.record_into(None)
        if transcript is not None:
            transcript.close()

    def _stopped(self, transcript: Transcript | None) -> None:
        self._set_state(RecorderState.STOPPED, "Stopped. Record starts a new session.")
        if transcript is not None and session_exists(transcript.session_id or ""):
            self.session_closed.emit(transcript.session_id)  # one without text is not kept

    def continue_session(self, session_id: str) -> None:
        """Record into a past session again (after closing the current one)."""
        if self.transcript is not None:
            self.stop()
        self.control.submit(lambda: reopen_session(session_id),
                            on_done=self._continue, on_error=self._fail)

    def _continue(self, transcript: Transcript) -> None:
        self._open(transcript)
        self.start()

    def _open(self, transcript: Transcript) -> None:
        self.transcript = transcript
        self._bridge.record_into(transcript)
        self.session_changed.emit(transcript)

    # -- live changes ---------------------------------------------------------------------------

    def set_delay(self, delay_ms: int) -> None:
        if (pipeline := self.pipeline) is not None:
            self.control.submit(lambda: pipeline.set_delay(delay_ms), on_error=self._fail)

    def set_sources(self, sources: list[tuple[str, str]]) -> None:
        if (pipeline := self.pipeline) is not None:
            self.control.submit(lambda: pipeline.set_sources(source_configs(sources)),
                                on_error=self._fail)

    def close(self) -> None:
        """Stop and save everything after the queued work, then end; ``finished`` says when."""
        self._closing = True  # a model still loading must not start captioning now
        pipeline, transcript = self.pipeline, self.transcript
        self.pipeline = None
        self.control.submit(lambda: self._stop_and_close(pipeline, transcript),
                            on_error=lambda m: log.error("while closing: %s", m))
        self.control.close()
