"""The live pipeline: capture sources -> one model -> timed text events, with honest lag.

Each source (a microphone, system audio, a file) captures on its own thread into its own
bounded buffer (see :mod:`app.audio`). One inference worker thread owns the model and one
``engine`` stream per source, each with its own caches and delay. It wakes whenever any source
has audio, hands each stream what has arrived (at most ``STEP_BUDGET_S`` per turn, so two sources
take turns), and reports:

- ``on_text(TextEvent)``: text as soon as the model writes it, on the source's audio clock;
- ``on_gap(Gap)``: audio that was never transcribed (capture overflow, a device away, or audio
  skipped because decoding fell more than ``max_lag_s`` behind);
- ``on_status(SourceStatus)``: lag, real-time factor, level and state, a few times a second;
- ``on_error(label, message)``: a device lost, a stream that seems stuck.

Commands from other threads (``pause``, ``set_delay``, ``set_sources`` ...) are queued to the
worker and applied between steps, so no lock is ever held around the model.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from app.audio import EndOfStream, SourceError, SourceUnavailable, open_source
from app.events import AudioChunk, Gap, SourceStatus
from app.lane import KEEP_AFTER_SKIP_S, Lane

log = logging.getLogger(__name__)

STATUS_EVERY_S = 0.25
STEP_BUDGET_S = 1.0  # audio one source may decode before the other gets a turn
COMMAND_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class SourceConfig:
    spec: str  # what open_source takes: "mic", "system:NAME", a file path ...
    label: str  # what people read next to its text: "Me", "Them"


Callback = Callable[..., None] | None


class LivePipeline:
    def __init__(
        self,
        model,
        sources: list[SourceConfig],
        delay_ms: int = 480,
        max_lag_s: float = 4.0,
        *,
        on_text: Callback = None,
        on_gap: Callback = None,
        on_status: Callback = None,
        on_error: Callback = None,
        on_finished: Callback = None,
        source_factory: Callable[..., object] = open_source,
        realtime_files: bool = True,
    ) -> None:
        from engine import check_delay

        check_delay(delay_ms)
        if max_lag_s <= 0:
            raise ValueError("max_lag_s must be positive")
        self.model = model
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
        """Restart every stream with a new delay; the text so far stays."""
        from engine import check_delay

        check_delay(delay_ms)
        self._command(self._do_set_delay, delay_ms)

    def set_sources(self, sources: list[SourceConfig]) -> None:
        """Close sources no longer wanted, open new ones; unchanged ones keep running."""
        self._command(self._do_set_sources, list(sources))

    def _command(self, fn: Callable, arg) -> None:
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
        if not self._paused:
            self._decode(STEP_BUDGET_S)
        for lane in self._lanes:
            if lane.ended_cleanly_and_drained():
                self._emit_texts(lane.finish())
        return not self._paused and any(
            lane.pending_seconds >= lane.step_seconds for lane in self._lanes if not lane.ended
        )

    def _decode(self, budget_s: float) -> None:
        """Give every stream its waiting audio, run each group once (batched), report text."""
        for lane in self._lanes:
            lane.catch_up(self.max_lag_s, self._emit_gap)
        pushed = [lane.push(budget_s) for lane in self._lanes]
        began = time.perf_counter()
        for group in {id(lane.stream.group): lane.stream.group for lane in self._lanes}.values():
            group.run()
        spent = time.perf_counter() - began
        longest = max(pushed, default=0) / 16000
        for lane in self._lanes:
            self._emit_texts(lane.collect(spent / longest if longest else None))
            stall = lane.stall_warning()
            if stall:
                self._emit_error(lane.label, stall)

    def _emit_texts(self, events: list) -> None:
        for event in events:
            self._emit_text(event)

    def _take(self, lane: Lane, item) -> None:
        if isinstance(item, AudioChunk):
            lane.add_audio(item)
        elif isinstance(item, Gap):
            if item.reason != "paused":  # a pause is the user's choice, not lost audio
                self._emit_gap(Gap(lane.label, item.t + lane.offset, item.duration, item.reason))
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
            except Exception as exc:  # noqa: BLE001 - a failed command must not kill captioning
                self._emit_error("", f"{type(exc).__name__}: {exc}")
            finally:
                done.set()

    def _maybe_report_status(self) -> None:
        now = time.monotonic()
        if now - self._last_status < STATUS_EVERY_S:
            return
        self._last_status = now
        for lane in self._lanes:
            state = "error" if lane.error else "paused" if self._paused else "running"
            level = lane.source.level.rms_db
            self._emit_status(
                SourceStatus(lane.label, lane.lag_seconds, lane.rtf, level, state, lane.error or "")
            )

    def _shutdown(self) -> None:
        for lane in self._lanes:
            lane.source.stop()
            for item in lane.source.read(0):
                self._take(lane, item)
        if not self._drain:
            for lane in self._lanes:
                lane.catch_up(KEEP_AFTER_SKIP_S, self._emit_gap)  # only the newest is decoded
        if not self._paused:
            self._decode(float("inf"))
        for lane in self._lanes:
            self._emit_texts(lane.finish())
        self._emit_finished()

    # -- commands, applied on the worker (or before it starts) --------------------------------

    def _open_lanes(self, configs: list[SourceConfig]) -> list[Lane]:
        """Start the sources; their streams share one group, so they step as one batch."""
        opened = []
        for config in configs:
            try:
                source = self._factory(
                    config.spec, realtime=self._realtime_files, wakeup=self._wakeup
                )
                source.start()
            except SourceUnavailable as exc:
                self._emit_error(config.label, str(exc))
                continue
            opened.append((config, source))
        if not opened:
            return []
        streams = self.model.streams([self.delay_ms] * len(opened))
        # A source opened while others run starts its clock now, not at the session's start.
        offset = time.monotonic() - self._t0 if self._lanes else 0.0
        return [Lane(c, src, st, offset) for (c, src), st in zip(opened, streams, strict=True)]

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
        live = [lane for lane in self._lanes if not lane.ended]
        for lane in live:
            self._emit_texts(lane.finish_stream())
        if live:
            for lane, stream in zip(live, self.model.streams([delay_ms] * len(live)), strict=True):
                lane.use_stream(stream)

    def _do_set_sources(self, configs: list[SourceConfig]) -> None:
        keep = [lane for lane in self._lanes if lane.config in configs]
        for lane in self._lanes:
            if lane not in keep:
                lane.source.stop()
                self._emit_texts(lane.finish())
        have = {lane.config for lane in keep}
        self._lanes = keep + self._open_lanes([c for c in configs if c not in have])
        self._configs = configs


def _guarded(callback: Callback, report: Callback) -> Callable[..., None]:
    """A callback that cannot stop captioning: what it raises (a full disk under the journal,
    a closed view) is logged and reported once per kind, and the worker carries on."""
    reported: set[str] = set()

    def call(*args) -> None:
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
