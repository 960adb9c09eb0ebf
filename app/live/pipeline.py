"""The live pipeline: capture sources -> one backend -> timed text events, with honest lag.

Each source (a microphone, system audio, a file) captures on its own thread into its own
bounded buffer (see :mod:`app.audio`). One inference worker thread owns the backend
(:mod:`app.live.backend`) and one backend stream per source. It wakes whenever any source has
audio, pushes each stream what has arrived (at most ``STEP_BUDGET_S`` per turn, so two sources
take turns), advances the backend once (every stream in one batch where it can), and reports:

- ``on_text(TextEvent)``: text as soon as the model writes it, on the source's audio clock;
- ``on_gap(Gap)``: audio that was never transcribed (capture overflow, a device away, audio
  skipped because decoding fell more than ``max_lag_s`` behind, or lost by the backend);
- ``on_status(SourceStatus)``: lag, real-time factor, level and state, a few times a second;
- ``on_error(label, message)``: a device lost, a stream that seems stuck, a backend in trouble
  (``label`` is "" when it concerns the whole pipeline);
- ``on_finished()``: the worker has ended and every stream's last words were reported.

Commands from other threads (``pause``, ``set_delay``, ``set_sources`` ...) are queued to the
worker and applied between steps, so no lock is ever held around the backend.
"""
from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from app.audio import EndOfStream, SourceError, SourceUnavailable, open_source
from app.events import SAMPLE_RATE, AudioChunk, Gap, GapReason, SourceState, SourceStatus, TextEvent
from app.live.backend import READY, Backend, BackendError, BackendState
from app.live.lane import KEEP_AFTER_SKIP_S, Lane, SourceConfig
from engine.delay import DEFAULT_DELAY_MS, check_delay

log = logging.getLogger(__name__)

STATUS_EVERY_S = 0.25
STEP_BUDGET_S = 1.0  # audio one source may decode before the other gets a turn
HOLD_STEPS = 2  # steps a source waits for the others' audio, so that they decode as one batch
COMMAND_TIMEOUT_S = 30.0

TextCallback = Callable[[TextEvent], None]
GapCallback = Callable[[Gap], None]
StatusCallback = Callable[[SourceStatus], None]
ErrorCallback = Callable[[str, str], None]  # (label or "", message for people)
FinishedCallback = Callable[[], None]

__all__ = ["LivePipeline", "SourceConfig"]


class LivePipeline:
    def __init__(
        self,
        backend: Backend,
        sources: list[SourceConfig],
        delay_ms: int = DEFAULT_DELAY_MS,
        max_lag_s: float = 4.0,
        *,
        on_text: TextCallback | None = None,
        on_gap: GapCallback | None = None,
        on_status: StatusCallback | None = None,
        on_error: ErrorCallback | None = None,
        on_finished: FinishedCallback | None = None,
        source_factory: Callable[..., Any] = open_source,
        realtime_files: bool = True,
    ) -> None:
        """ValueError for a delay the model cannot take or a lag bound that is not positive."""
        check_delay(delay_ms)
        if max_lag_s <= 0:
            raise ValueError("max_lag_s must be positive")
        self.backend = backend
        self.delay_ms = delay_ms
        self.max_lag_s = max_lag_s
        self._configs = list(sources)
        self._emit_error = _guarded(on_error, None)
        self._emit_text = _guarded(on_text, self._emit_error)
        self._emit_gap = _guarded(on_gap, self._emit_error)
        self._emit_status = _guarded(on_status, self._emit_error)
        self._emit_finished = _guarded(on_finished, self._emit_error)
        self._factory = source_factory
        self._realtime_files = realtime_files
        self._wakeup = threading.Event()
        self._stop = threading.Event()
        self._commands: queue.Queue = queue.Queue()
        self._lanes: list[Lane] = []
        self._thread: threading.Thread | None = None
        self._paused = False
        self._last_status = 0.0
        self._backend_status = READY
        self._t0 = 0.0  # monotonic time of start(): sources added later begin there
        self._drain = True  # decode all waiting audio when stopping

    # -- control, from any thread -------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def paused(self) -> bool:
        return self._paused

    def start(self) -> None:
        """Open every source and start the worker; raises SourceUnavailable if none opens."""
        if self._thread is not None:
            raise RuntimeError("the pipeline was already started")
        self._t0 = time.monotonic()
        self._lanes = self._open_lanes(self._configs)
        if not self._lanes:
            raise SourceUnavailable("no audio source could be opened; check the source settings.")
        self._thread = threading.Thread(target=self._work, name="voxcap-inference", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0, drain: bool = True) -> None:
        """Finish every stream (its last words are still reported) and close the sources.

        ``drain=False`` leaves audio still waiting to be decoded undecoded (reported as a
        ``Gap``), so a stop asked for by the user is quick even when decoding is far behind.
        """
        if self._thread is None:
            return
        self._drain = self._drain and drain
        self._stop.set()
        self._wakeup.set()
        self._thread.join(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the worker ends (every file played out, or stop); True if it did."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    def pause(self) -> None:
        self._command(self._do_pause, True)

    def resume(self) -> None:
        self._command(self._do_pause, False)

    def set_delay(self, delay_ms: int) -> None:
        """Restart every stream with a new delay; the text so far stays.

        ValueError for a delay the model cannot take, or when the backend fixes the delay.
        """
        check_delay(delay_ms)
        fixed = self.backend.capabilities.fixed_delay_ms
        if fixed is not None and fixed != delay_ms:
            raise ValueError(f"this engine's server fixes the delay at {fixed} ms; "
                             "change it where the server is configured.")
        self._command(self._do_set_delay, delay_ms)

    def set_sources(self, sources: list[SourceConfig]) -> None:
        """Close sources no longer wanted, open new ones; unchanged ones keep running."""
        self._command(self._do_set_sources, list(sources))

    def _command(self, fn: Callable[[Any], None], arg: Any) -> None:
        if not self.running:
            fn(arg)  # not started, or ended: apply here, nothing else touches the lanes
            return
        done = threading.Event()
        self._commands.put((fn, arg, done))
        self._wakeup.set()
        done.wait(COMMAND_TIMEOUT_S)

    # -- the worker thread --------------------------------------------------------------------

    def _work(self) -> None:
        try:
            while not self._stop.is_set():
                self._wakeup.wait(STATUS_EVERY_S)
                self._wakeup.clear()
                self._run_commands()
                busy = self._turn()
                self._maybe_report_status()
                if self._lanes and all(lane.ended for lane in self._lanes):
                    break
                if busy:
                    self._wakeup.set()  # audio is still waiting: go round again at once
        except BackendError as exc:
            self._emit_error("", f"captioning stopped: {exc}")
        except Exception as exc:
            log.exception("inference worker failed")
            self._emit_error("", f"captioning stopped: {type(exc).__name__}: {exc}")
        finally:
            self._shutdown()

    def _turn(self) -> bool:
        """One round over the sources; True when some audio is still waiting to be decoded."""
        for lane in list(self._lanes):
            for item in lane.source.read(0):
                self._take(lane, item)
        decoded = not self._paused and self._decode(STEP_BUDGET_S)
        for lane in self._lanes:
            if lane.drained():
                self._finish(lane)
        return decoded and any(lane.pending_steps for lane in self._lanes if not lane.ended)

    def _decode(self, budget_s: float) -> bool:
        """Push every stream its waiting audio, advance the backend once, report the text.

        False when it waited instead, for the other sources' audio (see ``_hold``).
        """
        live = [lane for lane in self._lanes if not lane.ended]
        for lane in live:
            gap = lane.catch_up(self.max_lag_s)
            if gap is not None:
                self._emit_gap(gap)
        if not math.isinf(budget_s) and self._hold(live):
            return False
        longest = 0
        for lane in live:
            audio = lane.take_audio(budget_s)
            if news := lane.repairs_news():
                self._emit_error(lane.label, news)
            if audio.size:
                self.backend.push(lane.stream, audio)
                longest = max(longest, audio.size)
        began = time.perf_counter()
        self.backend.advance()
        spent = time.perf_counter() - began
        for lane in live:
            if longest:
                rtf = spent / (longest / SAMPLE_RATE)
                lane.rtf = 0.8 * lane.rtf + 0.2 * rtf if lane.rtf else rtf
            self._collect(lane)
        return True

    def _hold(self, live: list[Lane]) -> bool:
        """Whether to wait for a source whose next step of audio has not arrived yet.

        Sources capture with their own timing, so left alone their steps come due at different
        moments and a batched backend would step each alone. Waiting up to ``HOLD_STEPS`` for
        the slowest puts them in one batch (one read of the weights) and costs at most that much
        latency when a source goes quiet (a device away).
        """
        if not self.backend.capabilities.batched:
            return False
        steps = [lane.pending_steps for lane in live if not lane.source_ended]
        return len(steps) > 1 and min(steps) == 0 and max(steps) < HOLD_STEPS

    def _collect(self, lane: Lane) -> None:
        texts, gaps = lane.stamp(self.backend.take(lane.stream))
        for gap in gaps:
            self._emit_gap(gap)
        for event in texts:
            self._emit_text(event)
        stall = lane.stall.warning()
        if stall:
            self._emit_error(lane.label, stall)

    def _finish(self, lane: Lane, *, reopen: int | None = None) -> None:
        """End the lane's stream, its last words reported; go on with a new one at ``reopen``
        ms of delay, or end the lane."""
        self.backend.finish(lane.stream)
        self._collect(lane)
        self.backend.close(lane.stream)
        if reopen is None:
            lane.ended = True
        else:
            lane.use_stream(self.backend.open(reopen))

    def _take(self, lane: Lane, item: object) -> None:
        if isinstance(item, AudioChunk):
            if item.samples.size:
                lane.error = None  # audio flows again: a device that was away is back
            lane.add_audio(item)
        elif isinstance(item, Gap):
            if item.reason != GapReason.PAUSED:  # a pause is the user's choice, not lost audio
                self._emit_gap(lane.gap(item.t, item.duration, item.reason))
        elif isinstance(item, SourceError):
            lane.error = item.reason
            self._emit_error(lane.label, f"{item.device}: {item.reason}")
        elif isinstance(item, EndOfStream):
            lane.source_ended = True

    def _run_commands(self) -> None:
        while True:
            try:
                fn, arg, done = self._commands.get_nowait()
            except queue.Empty:
                return
            try:
                fn(arg)
            except BackendError:
                raise  # the backend cannot go on: the worker stops and says why
            except Exception as exc:  # noqa: BLE001 - a failed command must not kill captioning
                self._emit_error("", f"{type(exc).__name__}: {exc}")
            finally:
                done.set()

    def _maybe_report_status(self) -> None:
        now = time.monotonic()
        if now - self._last_status < STATUS_EVERY_S:
            return
        self._last_status = now
        backend = self.backend.status
        if backend != self._backend_status and backend.state != BackendState.READY:
            self._emit_error("", f"speech engine {backend.state}: {backend.message}")
        self._backend_status = backend
        trouble = backend.message if backend.state != BackendState.READY else ""
        for lane in self._lanes:
            error = lane.error or trouble
            state = (SourceState.ERROR if error else
                     SourceState.PAUSED if self._paused else SourceState.RUNNING)
            self._emit_status(SourceStatus(lane.source_id, lane.label, lane.pending_seconds,
                                           lane.rtf, lane.source.level.rms_db, state, error))

    def _shutdown(self) -> None:
        for lane in self._lanes:
            lane.source.stop()
            for item in lane.source.read(0):
                self._take(lane, item)
        if not self._drain:
            for lane in self._lanes:  # only the newest audio is decoded; the rest is a gap
                gap = lane.catch_up(KEEP_AFTER_SKIP_S)
                if gap is not None:
                    self._emit_gap(gap)
        try:
            if not self._paused:
                self._decode(float("inf"))
            for lane in self._lanes:
                if not lane.ended:
                    self._finish(lane)
        except BackendError as exc:  # its last words are lost; say so once
            self._emit_error("", f"the last words could not be transcribed: {exc}")
        self._emit_finished()

    # -- commands, applied on the worker (or before it starts) --------------------------------

    def _open_lanes(self, configs: list[SourceConfig]) -> list[Lane]:
        """Start the sources, each with its own backend stream (batched with the others)."""
        lanes = []
        # A source opened while others run starts its clock now, not at the session's start.
        offset = time.monotonic() - self._t0 if self._lanes else 0.0
        step = self.backend.capabilities.step_samples
        for config in configs:
            try:
                source = self._factory(
                    config.spec, realtime=self._realtime_files, wakeup=self._wakeup
                )
                source.start()
            except SourceUnavailable as exc:
                self._emit_error(config.label, str(exc))
                continue
            stream = self.backend.open(self.delay_ms)
            lanes.append(Lane(config, source, stream, step, offset))
        return lanes

    def _do_pause(self, paused: bool) -> None:
        if paused == self._paused:
            return
        self._paused = paused
        for lane in self._lanes:
            if not paused:
                lane.source.start()
                continue
            lane.source.stop()
            for item in lane.source.read(0):  # what was captured before the pause still counts
                if not isinstance(item, EndOfStream):
                    self._take(lane, item)

    def _do_set_delay(self, delay_ms: int) -> None:
        self.delay_ms = delay_ms
        for lane in self._lanes:
            if not lane.ended:
                self._finish(lane, reopen=delay_ms)

    def _do_set_sources(self, configs: list[SourceConfig]) -> None:
        keep = [lane for lane in self._lanes if lane.config in configs]
        for lane in self._lanes:
            if lane not in keep:
                lane.source.stop()
                if not lane.ended:
                    self._finish(lane)
        have = {lane.config for lane in keep}
        self._lanes = keep + self._open_lanes([c for c in configs if c not in have])
        self._configs = configs


def _guarded(callback: Callable[..., None] | None,
             report: Callable[[str, str], None] | None) -> Callable[..., None]:
    """A callback that cannot stop captioning: what it raises (a full disk under the journal,
    a closed view) is logged and reported once per kind, and the worker carries on."""
    reported: set[str] = set()

    def call(*args: Any) -> None:
        if callback is None:
            return
        try:
            callback(*args)
        except Exception as exc:
            log.exception("pipeline callback failed")
            kind = type(exc).__name__
            if report is not None and kind not in reported:
                reported.add(kind)
                report("", f"{exc}")

    return call
