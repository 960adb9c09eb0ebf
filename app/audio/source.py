"""A capture source: its lifecycle, the read contract, and the items it hands to the consumer.

Producers (a device callback, a pacing thread) only call ``_push``/``_fail``/``_finish``: copy
into the ring, meter, signal. Everything else -- draining the ring, mixing down, resampling,
stamping the clock, closing a dead device -- happens on the reader's side in ``read``. The
package docstring (``app.audio``) states the contract the consumer relies on.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Self

import numpy as np

from app.audio.convert import Converter
from app.audio.level import SILENT, Level, LevelMeter
from app.audio.ring import FrameRing
from app.events import SAMPLE_RATE, AudioChunk, Gap

log = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 2.0  # a device that will not close in this time is abandoned, not waited on
DEFAULT_BUFFER_S = 30.0  # capture the consumer may fall behind by before audio is dropped
RECONNECT_S = 1.0  # how often a device source looks for its lost device again


@dataclass(frozen=True)
class SourceError:
    """The device failed at stream time ``t``.

    ``retrying``: the run goes on; the source reopens the device by itself once it is back
    (a ``Gap`` "device-lost" covers the time away, then audio follows). Otherwise the run ended
    here; reopen it with ``start()``.
    """

    source_id: str
    device: str  # what was being captured, in words the user recognises
    reason: str
    t: float  # stream time where the audio stops, seconds
    retrying: bool = False


@dataclass(frozen=True)
class EndOfStream:
    """The run ended cleanly: the file played out, or ``stop()`` was called."""

    source_id: str
    t: float


Item = AudioChunk | Gap | SourceError | EndOfStream


class SourceUnavailable(Exception):
    """The source cannot be opened; the message names it and says what to do."""


class Source:
    """Base of every capture source; subclasses provide ``_open``/``_begin``/``_close``."""

    live = True  # time passes while a live source is closed, so reopening it leaves a gap

    def __init__(
        self,
        source_id: str,
        device: str,
        *,
        buffer_seconds: float = DEFAULT_BUFFER_S,
        wakeup: threading.Event | None = None,
        reconnect_s: float | None = None,
    ) -> None:
        """``reconnect_s``: after a device failure, try to reopen it this often (seconds);
        None ends the run at the failure instead."""
        self.id = source_id
        self.device = device
        self._buffer_seconds = buffer_seconds
        self._wakeup = wakeup
        self._ready = threading.Event()
        self._lock = threading.RLock()  # reader-side state; never taken by producers
        self._end_lock = threading.Lock()  # the first end reason wins
        self._converter = Converter(source_id)
        self._meter = LevelMeter()
        self._ring: FrameRing | None = None
        self._pending: list[Item] = []
        self._end_reason: str | None = None  # "" clean end, text for an error, None running
        self._run_active = False  # a run started and its final item not yet queued
        self._device_open = False
        self._ever_started = False
        self._last_push = 0.0  # monotonic time of the newest audio
        self._rate = 1.0  # device frames per second in this run
        self._first_audio: float | None = None  # monotonic time of this run's first frame
        self._audio_ended = 0.0  # monotonic time the previous run's audio stopped
        self._resume: str | None = None  # gap reason while a reopened run awaits its anchor
        self._previous_end: Item | None = None
        self._reconnect_s = reconnect_s
        self._away = False  # the device failed and is being reopened; the run goes on
        self._stop_retrying = threading.Event()

    # --- the consumer's side -------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Capturing now (started, and neither stopped nor failed)."""
        return self._run_active and self._end_reason is None

    @property
    def finished(self) -> bool:
        """The last run's final item (EndOfStream or SourceError) has been read."""
        return self._ever_started and not self._run_active and not self._pending

    @property
    def level(self) -> Level:
        """Latest (rms_db, peak_db) in dBFS; the floor while not running."""
        return self._meter.level if self.running else SILENT

    @property
    def time(self) -> float:
        """Stream time just after the newest sample handed out, seconds."""
        return self._converter.time

    @property
    def dropped_seconds(self) -> float:
        """Audio lost because the consumer fell behind, in total (each loss is also a Gap)."""
        return self._converter.lost / SAMPLE_RATE

    def start(self) -> None:
        """Open the device and capture; reopens after a stop or an error. SourceUnavailable."""
        with self._lock:
            if self.running:
                return
            if self._away:  # try now rather than at the next retry
                self._come_back()
                return
            if self._run_active:  # ended but not yet read: keep its audio and final item
                self._close_run()
            rate = self._open_run()
            if self.live and self._ever_started:
                # Anchored on the clock once the first audio shows how long the device was away.
                self._resume = "device-lost" if isinstance(self._previous_end, SourceError) else "paused"
            else:
                self._pending += self._converter.begin(rate)
            self._run_active = self._ever_started = True

    def stop(self) -> None:
        """Stop capturing; idempotent, returns within about CLOSE_TIMEOUT_S whatever the device does.

        What was captured stays readable, followed by EndOfStream.
        """
        with self._lock:
            if not self._run_active:
                return
            self._stop_retrying.set()
            if self._away:  # a stop ends the run cleanly, device or not
                self._away = False
                self._end_reason = None
            self._set_end("")
            self._shut_device()
        self._signal()

    def read(self, timeout: float = 0.0) -> list[Item]:
        """Everything pending, waiting up to ``timeout`` s for something; [] once finished."""
        deadline = time.monotonic() + timeout
        items = self._collect()
        while not items and not self.finished:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._ready.wait(left)
            items = self._collect()
        return items

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- hooks for subclasses ------------------------------------------------------------

    def _open(self) -> tuple[float, int]:
        """Open the device without starting it; return (sample rate, channels)."""
        raise NotImplementedError

    def _begin(self) -> None:
        """Start delivering to ``_push``."""
        raise NotImplementedError

    def _close(self) -> None:
        """Stop delivering and release the device (may block; bounded by the caller)."""
        raise NotImplementedError

    def _check_alive(self) -> str | None:
        """Called on each read while running: why the device is dead, or None."""
        return None

    def _present(self) -> bool:
        """Whether the lost device looks back, cheaply and without locks (then it is reopened)."""
        return True

    def _drain(self) -> list[Item]:
        """Turn what the producer delivered into items (reader side)."""
        items: list[Item] = []
        for piece in self._ring.take() if self._ring is not None else []:
            if isinstance(piece, int):
                items += self._converter.skip(piece, "overflow")
            else:
                items += self._converter.feed(piece)
        return items

    # --- the producer's side (any thread; never blocks) ----------------------------------

    def _push(self, frames: np.ndarray) -> None:
        if self._end_reason is not None:
            return  # after a failure this is no longer the device's audio (see pulse.watch)
        self._ring.write(frames)
        self._meter.update(frames)
        self._last_push = time.monotonic()
        if self._first_audio is None:
            self._first_audio = self._last_push - len(frames) / self._rate
        self._signal()

    def _fail(self, reason: str) -> None:
        self._set_end(reason)

    def _finish(self) -> None:
        self._set_end("")

    # --- internals -----------------------------------------------------------------------

    def _signal(self) -> None:
        self._ready.set()
        if self._wakeup is not None:
            self._wakeup.set()

    def _set_end(self, reason: str) -> None:
        with self._end_lock:
            if self._end_reason is None:
                self._end_reason = reason
        self._signal()

    def _collect(self) -> list[Item]:
        with self._lock:
            self._ready.clear()
            if self._run_active and not self._away:
                if self._end_reason is None and (why := self._check_alive()):
                    self._set_end(why)
                ended = self._end_reason is not None  # read before draining: nothing follows it
                if self._anchored(ended):
                    self._pending += self._drain()
                if ended and self._end_reason and self._reconnect_s is not None:
                    self._go_away()
                elif ended:
                    self._close_run()
            items, self._pending = self._pending, []
            return items

    def _open_run(self) -> float:
        """Open the device and start it into a fresh ring; its rate. SourceUnavailable."""
        rate, channels = self._open()
        self._device_open = True
        self._ring = FrameRing(max(1, int(rate * self._buffer_seconds)), channels)
        self._meter.reset(rate, channels)
        self._rate = rate
        self._first_audio = None
        failure, self._end_reason = self._end_reason, None
        self._last_push = time.monotonic()
        try:
            self._begin()
        except Exception as err:  # nothing was captured: as if it had not been opened
            self._shut_device()
            self._end_reason = failure
            if isinstance(err, SourceUnavailable):
                raise
            raise SourceUnavailable(f"cannot start {self.device}: {err}") from err
        return rate

    def _go_away(self) -> None:
        """The device failed: report it, keep the run, and reopen the device once it is back."""
        self._shut_device()
        if self._anchored(True):
            self._pending += self._drain()
        self._pending += self._converter.flush()
        self._audio_ended = self._last_push
        lost = SourceError(self.id, self.device, self._end_reason, self._converter.time,
                           retrying=True)
        self._pending.append(lost)
        self._previous_end = lost
        self._away = True
        self._stop_retrying.clear()
        threading.Thread(target=self._retry, name=f"reopen {self.device}", daemon=True).start()

    def _retry(self) -> None:
        """Every ``reconnect_s``: if the device looks back, reopen it (helper thread)."""
        while not self._stop_retrying.wait(self._reconnect_s):
            if not self._present():  # outside the lock: asking the server may take a while
                continue
            with self._lock:
                if not self._away:
                    return  # stopped, or start() brought it back
                try:
                    self._come_back()
                except SourceUnavailable as err:
                    log.info("%s is not back yet: %s", self.device, err)
                    continue
            self._signal()
            return

    def _come_back(self) -> None:
        """Reopen the lost device (SourceUnavailable); its audio follows a "device-lost" gap."""
        self._open_run()
        self._away = False
        self._stop_retrying.set()
        self._resume = "device-lost"  # anchored by the first audio, as after a restart

    def _close_run(self) -> None:
        """Release the device and queue the rest of the run and its final item."""
        self._shut_device()
        if self._anchored(True):
            self._pending += self._drain()
        self._pending += self._converter.flush()
        self._audio_ended = self._last_push
        t = self._converter.time
        reason = self._end_reason or ""
        end: Item = SourceError(self.id, self.device, reason, t) if reason else EndOfStream(self.id, t)
        self._pending.append(end)
        self._previous_end = end
        self._run_active = False

    def _anchored(self, now: bool) -> bool:
        """Place a reopened live run on the clock, after the time it was away (a gap).

        Waits for the run's first audio, which shows when capture really resumed (some devices
        take a second or more); ``now`` places it at once when no audio is coming.
        """
        if self._resume is None:
            return True
        first = self._first_audio
        if first is None and not now:
            return False
        away = max(0.0, (first or time.monotonic()) - self._audio_ended)
        at = self._converter.position + round(away * SAMPLE_RATE)
        self._pending += self._converter.begin(self._rate, at, self._resume)
        self._resume = None
        return True

    def _shut_device(self) -> None:
        if self._device_open:
            self._device_open = False
            _bounded(self._close, CLOSE_TIMEOUT_S, f"closing {self.device}")


def _bounded(fn: Callable[[], None], timeout: float, what: str) -> None:
    """Run ``fn`` on a helper thread and wait at most ``timeout`` s for it.

    Audio back ends can block forever on a device or server that vanished; a stuck close must
    not take the caller with it.
    """
    done = threading.Event()

    def run() -> None:
        try:
            fn()
        except Exception:  # the device is being let go; its complaints change nothing
            log.warning("%s failed", what, exc_info=True)
        finally:
            done.set()

    threading.Thread(target=run, name=what, daemon=True).start()
    if not done.wait(timeout):
        log.warning("%s did not finish within %.0f s; left behind", what, timeout)
