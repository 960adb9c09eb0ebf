"""One source's live stream through a remote engine: send, receive, reconnect, keep the clock.

The caller (the pipeline's worker) sees what a local engine stream offers: ``append`` audio,
``take_output`` timed text, ``finish``; none of it waits on the network. Behind it one thread
per stream owns the websocket: it connects (with backoff after a failure), sends the audio that
waits, and a second thread per connection reads what the server answers.

The clock: the stream's time is the audio handed to :meth:`RemoteStream.append` (sample 0 is
the first one), as for a local stream. A vLLM delta stands for one 80 ms decoder step, so the
k-th delta of a generation covers that generation's audio ``[k, k + 1) * 80 ms``; a short list of
breakpoints maps generation samples back to stream samples across skipped audio. Audio that is
never transcribed is reported by :meth:`RemoteStream.take_gaps` with a reason:
``"server-lost"`` (the connection dropped, or the server was away while it was captured) or
``"skip"`` (the server fell more than ``max_lag_s`` behind). When the server ends a generation
on its own (its ``max_model_len``), a new one starts at once from the last answered sample, with
the audio after it sent again: the timeline goes on without a jump.
"""
from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from app.events import SAMPLE_RATE, Piece
from app.live.remote import STEP_S, STEP_SAMPLES, Delta, Done, RemoteError

log = logging.getLogger(__name__)

STEP = STEP_SAMPLES
BACKOFF_S = (0.5, 10.0)  # first wait before reconnecting, the longest one
RECEIVE_POLL_S = 0.5  # how often a blocked receive looks whether the stream ends
KEEP_AFTER_SKIP_S = 0.5  # the newest audio kept when skipping, so captions are current
RESEND_S = 30.0  # sent audio kept to start a new generation where the last one stopped
FATAL = ("auth", "model", "address")  # retrying cannot help: the user must change something


class Session(Protocol):
    """What ``VllmSession`` and ``MistralSession`` offer; see those for the messages."""

    def open(self) -> None: ...
    def start_generation(self) -> None: ...
    def send_audio(self, samples: np.ndarray) -> None: ...
    def end_audio(self) -> None: ...
    def receive(self, timeout: float | None = None) -> Delta | Done | None: ...
    def close(self) -> None: ...


@dataclass
class _Generation:
    """One generation on the server: what was sent into it and what came back."""

    runs: list[tuple[int, int]] = field(default_factory=list)  # (gen sample, stream sample)
    sent: int = 0  # samples sent into this generation
    steps: int = 0  # deltas received (vLLM: one per 80 ms of the generation's audio)
    untimed_end: float = 0.0  # stream seconds the last untimed (Mistral) delta reached
    ending: bool = False  # the final commit was sent
    done: bool = False

    def stream_sample(self, g: int) -> int:
        base_g, base_s = self.runs[0] if self.runs else (0, 0)
        for rg, rs in self.runs:
            if rg > g:
                break
            base_g, base_s = rg, rs
        return base_s + g - base_g

    def answered(self) -> int:
        """Stream sample up to which the server has answered (vLLM's step count)."""
        return self.stream_sample(min(self.steps * STEP, self.sent)) if self.runs else 0


class RemoteStream:
    """A live stream whose decoding runs on a server; thread-safe, never blocks on the network.

    ``connect`` makes a new unopened session (``VllmSession``/``MistralSession``) each time one
    is needed. ``delay_s`` times untimed deltas (Mistral's); ``wakeup`` is set when text, a gap
    or a state change arrives. ``state`` is ``"connecting"``, ``"running"``, ``"reconnecting"``
    or ``"error"`` (``error`` says why, in words for the user; the stream has stopped then).
    """

    def __init__(self, connect: Callable[[], Session], *, delay_s: float = 0.48,
                 max_lag_s: float = 4.0, wakeup: threading.Event | None = None,
                 new_session_per_generation: bool = False) -> None:
        self._connect = connect
        self.delay_s = delay_s
        self.max_lag_s = max_lag_s
        self._wakeup = wakeup or threading.Event()
        self._one_per_session = new_session_per_generation
        self._cv = threading.Condition()
        self._outbox: deque[tuple[int, np.ndarray]] = deque()  # (stream sample, audio) unsent
        self._outbox_n = 0
        self._resend: deque[tuple[int, np.ndarray]] = deque()  # sent audio, newest RESEND_S
        self._appended = 0
        self._gen = _Generation()
        self._out: list[Piece] = []
        self._gaps: list[tuple[float, float, str]] = []
        self._new_steps = 0  # decoder steps answered since take_steps
        self._closing = False
        self._stopped = threading.Event()
        self._received_error: RemoteError | None = None
        self.state = "connecting"
        self.error = "connecting to the server"
        self._thread = threading.Thread(target=self._run, name="voxcap-remote", daemon=True)
        self._thread.start()

    # -- the caller's side --------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        return self._closing

    @property
    def audio_time(self) -> float:
        return self._appended / SAMPLE_RATE

    @property
    def lag_seconds(self) -> float:
        """Audio handed in that the server has not answered yet (its delay included)."""
        with self._cv:
            if self._gen.steps == 0 and self._gen.untimed_end:
                return max(0.0, self._appended / SAMPLE_RATE - self._gen.untimed_end)
            return (self._appended - self._gen.answered()) / SAMPLE_RATE if self._gen.runs else (
                self._outbox_n / SAMPLE_RATE)

    def append(self, samples: np.ndarray) -> None:
        """float32 16 kHz mono samples, shape (n,); queued for the sender, never blocks."""
        x = np.asarray(samples, dtype=np.float32)
        if x.ndim != 1:
            raise ValueError(f"audio must be 1-D mono samples; got shape {x.shape}")
        with self._cv:
            if self._closing:
                raise RuntimeError("this stream is finished; start a new one for more audio")
            if x.size:
                self._outbox.append((self._appended, x))
                self._outbox_n += x.size
                self._appended += x.size
                self._skip_if_behind()
                self._cv.notify_all()

    def wait_answered(self, timeout: float) -> bool:
        """Wait (at most ``timeout`` s) until the server has answered all it can: everything
        handed in but its delay and two steps. True when it has; at once while the connection
        is down, or for untimed (Mistral) answers, which come per word."""
        slack = round((self.delay_s + 2 * STEP_S) * SAMPLE_RATE)

        def answered() -> bool:
            return (self.state not in ("connecting", "running") or self._stopped.is_set()
                    or self._gen.steps == 0 and self._gen.untimed_end > 0
                    or self._appended - self._gen.answered() <= slack)

        with self._cv:
            return self._cv.wait_for(answered, timeout) and self.state == "running"

    def take_output(self) -> list[Piece]:
        with self._cv:
            out, self._out = self._out, []
        return out

    def take_steps(self) -> int:
        """Decoder steps answered since the last call (empty ones included)."""
        with self._cv:
            steps, self._new_steps = self._new_steps, 0
        return steps

    def take_gaps(self) -> list[tuple[float, float, str]]:
        """(stream seconds, duration seconds, reason) of audio that was never transcribed."""
        with self._cv:
            gaps, self._gaps = self._gaps, []
        return gaps

    def finish(self, timeout: float = 30.0) -> None:
        """End the audio and wait (at most ``timeout`` s) for the last words, then close.

        The last words are then in :meth:`take_output`; audio the server did not answer in
        time is in :meth:`take_gaps`.
        """
        with self._cv:
            self._closing = True
            self._cv.notify_all()
        self._thread.join(timeout)
        self.close()
        self._thread.join(RECEIVE_POLL_S * 4)

    def close(self) -> None:
        """Stop at once; what the server has not answered is dropped."""
        self._stopped.set()
        with self._cv:
            self._cv.notify_all()

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # -- the sender thread --------------------------------------------------------------------

    def _run(self) -> None:
        backoff = BACKOFF_S[0]
        while not self._stopped.is_set():
            try:
                ended = self._connected()
                backoff = BACKOFF_S[0]
                if ended:
                    break
            except RemoteError as exc:
                if exc.kind in FATAL:
                    self._fail(exc)
                    break
                self._lost(exc)
                if self._closing or self._stopped.wait(backoff):
                    break
                backoff = min(2 * backoff, BACKOFF_S[1])
        self._drop_unanswered("server-lost")
        self._stopped.set()
        self._wakeup.set()

    def _connected(self) -> bool:
        """Open a session and serve it; True when the stream ended, False to reconnect."""
        session = self._connect()
        session.open()
        self._received_error = None
        self._set_state("running", "")
        receiver = threading.Thread(target=self._receive, args=(session,), daemon=True,
                                    name="voxcap-remote-receive")
        receiver.start()
        try:
            return self._serve(session)
        except RemoteError as exc:
            # A send that failed on a closed socket says less than what the server sent last
            # (a processing_error before it closed): report the receiver's reason when it has one.
            receiver.join(RECEIVE_POLL_S * 4)
            raise self._received_error or exc from None
        finally:
            session.close()
            receiver.join(RECEIVE_POLL_S * 4)

    def _serve(self, session: Session) -> bool:
        self._new_generation(session)
        while True:
            with self._cv:
                self._cv.wait_for(self._sender_has_work, RECEIVE_POLL_S)
                if self._received_error is not None:
                    raise self._received_error
                if self._stopped.is_set() or self._gen.done and self._gen.ending:
                    return True
                restart = self._gen.done  # ended by the server (its length limit)
                if restart and self._one_per_session:
                    return False
                chunks = [] if restart else self._sendable()
                end_now = (not restart and self._closing and not self._outbox
                           and not self._gen.ending)
                if end_now:
                    self._gen.ending = True
            if restart:  # go on at once, outside the lock: sending may wait on the network
                self._new_generation(session)
                continue
            for chunk in chunks:
                session.send_audio(chunk)
            if end_now:
                session.end_audio()

    def _sender_has_work(self) -> bool:
        return (
            self._stopped.is_set() or self._received_error is not None or self._gen.done
            or (self._outbox and self._inflight() < self.max_lag_s / 2)
            or (self._closing and not self._gen.ending)
        )

    def _inflight(self) -> float:
        return (self._gen.sent - min(self._gen.steps * STEP, self._gen.sent)) / SAMPLE_RATE

    def _sendable(self) -> list[np.ndarray]:
        """Take waiting audio into the generation (under the lock), noting clock jumps."""
        chunks = []
        while self._outbox and self._inflight() < self.max_lag_s / 2:
            src, audio = self._outbox.popleft()
            self._outbox_n -= audio.size
            self._record_sent(src, audio)
            chunks.append(audio)
        return chunks

    def _record_sent(self, src: int, audio: np.ndarray) -> None:
        gen = self._gen
        if not gen.runs or gen.stream_sample(gen.sent) != src:
            gen.runs.append((gen.sent, src))
        gen.sent += audio.size
        self._resend.append((src, audio))
        while self._resend and self._resend[-1][0] - self._resend[0][0] > RESEND_S * SAMPLE_RATE:
            self._resend.popleft()

    def _new_generation(self, session: Session) -> None:
        """Start a generation at the last answered sample; audio after it goes again."""
        with self._cv:
            resume = self._gen.answered() if self._gen.runs else None
            again = [(s, a[max(0, resume - s):]) for s, a in self._resend
                     if resume is not None and s + a.size > resume]
            self._gen = _Generation(untimed_end=self._gen.untimed_end)
            self._resend.clear()
            for src, audio in again:
                self._record_sent(max(src, resume), audio)
        session.start_generation()
        for _, audio in again:
            session.send_audio(audio)

    # -- the receiver thread ------------------------------------------------------------------

    def _receive(self, session: Session) -> None:
        try:
            while not self._stopped.is_set():
                event = session.receive(RECEIVE_POLL_S)
                if event is None:
                    continue
                with self._cv:
                    self._take(event)
                    self._cv.notify_all()
                self._wakeup.set()
                if isinstance(event, Done) and (self._gen.ending or self._one_per_session):
                    return
        except RemoteError as exc:
            with self._cv:
                self._received_error = exc
                self._cv.notify_all()

    def _take(self, event: Delta | Done) -> None:
        gen = self._gen
        if isinstance(event, Done):
            gen.done = True
            if not gen.ending:
                log.info("the server ended a generation on its own; starting a new one")
            return
        if event.steps == 0:  # untimed (Mistral): it covers up to the audio sent, less the delay
            end = max(gen.untimed_end, gen.stream_sample(gen.sent) / SAMPLE_RATE - self.delay_s)
            self._new_steps += round(end / STEP_S) - round(gen.untimed_end / STEP_S)
            if event.text:
                self._out.append(Piece(event.text, gen.untimed_end, end))
            gen.untimed_end = end
            return
        g = gen.steps * STEP
        gen.steps += event.steps
        self._new_steps += event.steps
        if event.text and gen.runs:
            start = gen.stream_sample(g) / SAMPLE_RATE
            self._out.append(Piece(event.text, start, start + event.steps * STEP_S))

    # -- faults -------------------------------------------------------------------------------

    def _skip_if_behind(self) -> None:
        """Past ``max_lag_s`` behind, drop the oldest waiting audio (a "skip" gap)."""
        waiting = self._outbox_n / SAMPLE_RATE + self._inflight()
        if waiting <= self.max_lag_s:
            return
        drop = self._outbox_n - round(KEEP_AFTER_SKIP_S * SAMPLE_RATE)
        if drop > 0:
            self._drop_outbox(drop, "skip")

    def _drop_outbox(self, n: int, reason: str) -> None:
        first, taken = self._outbox[0][0], 0
        while self._outbox and taken < n:
            src, audio = self._outbox.popleft()
            if audio.size > n - taken:
                keep = n - taken
                self._outbox.appendleft((src + keep, audio[keep:]))
                audio = audio[:keep]
            taken += audio.size
        self._outbox_n -= taken
        self._gaps.append((first / SAMPLE_RATE, taken / SAMPLE_RATE, reason))

    def _drop_unanswered(self, reason: str) -> None:
        """Audio sent but not answered, and audio waiting: a gap (the connection is gone)."""
        with self._cv:
            gen = self._gen
            if gen.runs and not gen.done and gen.sent > gen.steps * STEP:
                start = gen.answered()
                end = gen.stream_sample(gen.sent)
                if end > start:
                    self._gaps.append((start / SAMPLE_RATE, (end - start) / SAMPLE_RATE, reason))
                gen.steps = -(-gen.sent // STEP)  # nothing more will come for it
            if self._outbox:
                self._drop_outbox(self._outbox_n, reason)
            self._resend.clear()
            gen.runs.clear()

    def _lost(self, exc: RemoteError) -> None:
        log.warning("remote engine: %s", exc)
        self._drop_unanswered("server-lost")
        self._gen = _Generation(untimed_end=self._gen.untimed_end)
        self._set_state("reconnecting", str(exc))

    def _fail(self, exc: RemoteError) -> None:
        log.warning("remote engine: %s", exc)
        self._set_state("error", str(exc))

    def _set_state(self, state: str, error: str) -> None:
        with self._cv:
            self.state, self.error = state, error
        self._wakeup.set()
