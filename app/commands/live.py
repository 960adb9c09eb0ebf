"""``voxcap live``: captions in the terminal from a microphone, system audio, both, or a file.

The session is journaled as it goes (``voxcap sessions`` lists it); Ctrl-C or ``--seconds``
ends cleanly, the streams' last words included, and ``--output`` then gets the export.
"""
from __future__ import annotations

import argparse
import math
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Self, TextIO

from app.commands.common import (
    add_model_options,
    fail,
    load_engine,
    output_format,
    quiet_decoders,
    write_output,
)
from app.commands.server import add_engine_options, engine_choice, open_remote
from app.events import SourceStatus
from app.transcript import FORMATS, SegmentChange, StorageError, Transcript, export_chunks

PARTIAL = 3  # exit status: output written, session saved only in part


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "live",
        help="caption live audio in the terminal",
        description="Caption a microphone, the computer's sound, both, or a file played live.",
        epilog="Exit status: 0 done; 1 failed; 2 bad usage; "
        f"{PARTIAL} partial: captions and --output were written, but the session could not be "
        "saved completely (disk full, folder not writable) and keeps only what was saved.",
    )
    add_model_options(p)
    add_engine_options(p)
    p.add_argument(
        "--source", default="system", metavar="mic|system|both|FILE",
        help="what to caption (default: system audio); mic:NAME and system:NAME pick a device "
        "(see 'voxcap devices')",
    )
    p.add_argument("--seconds", type=float, help="stop after this many seconds")
    p.add_argument("--fast", action="store_true", help="a file source plays as fast as decoded")
    p.add_argument("--max-lag", type=float, default=4.0, metavar="S",
                   help="skip audio when captions fall this far behind (default 4 s)")
    p.add_argument("--output", "-o", metavar="PATH", help="write the transcript here at the end")
    p.add_argument("--format", choices=sorted(FORMATS), help="output format (default: from --output)")
    p.set_defaults(func=run)


def source_configs(spec: str, labels: tuple[str, str]):
    from app.live.lane import SourceConfig

    me, them = labels
    if spec == "both":
        return [SourceConfig("mic", me), SourceConfig("system", them)]
    if spec == "mic" or spec.startswith("mic:"):
        return [SourceConfig(spec, me)]
    if spec == "system" or spec.startswith("system:"):
        return [SourceConfig(spec, them)]
    return [SourceConfig(spec, Path(spec).name)]


FINISH_S = 1.2  # after Ctrl-C the streams get this long to finish; then the session closes


def run(args: argparse.Namespace) -> int:
    from app import settings as app_settings

    try:
        fmt = output_format(args.format, args.output)
    except ValueError as err:
        return fail(str(err), 2, "live")
    settings = app_settings.load()
    prefs = settings.sources
    configs = source_configs(args.source, (prefs.mic_label, prefs.system_label))
    if any(c.spec.partition(":")[0] in ("mic", "system") for c in configs):
        from app.audio import SourceUnavailable
        from app.audio.portaudio import sounddevice

        try:
            sounddevice()  # before the model loads: a missing library is said at once
        except SourceUnavailable as err:
            return fail(str(err), 1, "live")
    backend = _backend(args)
    if isinstance(backend, int):
        return backend
    with Interrupts() as interrupts, quiet_decoders():
        return _record(backend, configs, args, fmt, interrupts, settings.keep_transcripts)


def _record(backend, configs, args: argparse.Namespace, fmt: str, interrupts: Interrupts,
            keep: bool) -> int:
    """Caption into a new session until the sources end, ``--seconds`` pass or Ctrl-C."""
    from app.live.pipeline import LivePipeline
    from app.transcript import create_session

    transcript = create_session(keep=keep)  # nothing is on disk until the first text
    view = TerminalView(sys.stdout)
    transcript.subscribe(view.changed)
    gate = Gate()
    errors: list[str] = []
    unsaved: list[StorageError] = []
    pipeline = LivePipeline(
        backend, configs, args.delay_ms, args.max_lag,
        on_text=gate.wrap(_saving(transcript.add_event, unsaved, view)),
        on_gap=gate.wrap(_saving(transcript.add_gap, unsaved, view)),
        on_status=view.status, on_error=lambda label, msg: errors.append(view.error(label, msg)),
        realtime_files=not args.fast,
    )
    code = _capture(pipeline, args.seconds, interrupts, ", ".join(c.label for c in configs))
    gate.close()  # a worker still finishing after FINISH_S adds nothing to a closed session
    view.close()
    try:
        transcript.close()
        unsaved.clear()  # the journal wrote its backlog after all: nothing is missing
    except StorageError as err:
        unsaved.append(err)
    if code == 0 and args.output:
        code = write_output(export_chunks(transcript.segments, fmt), args.output, sys.stdout, fmt)
    if unsaved:
        code = _partial(transcript, unsaved[-1], code, args.output)
    else:
        code = code or (1 if errors and not transcript.segments else 0)
    if pipeline.running or interrupts.count:
        # Everything is saved by now. A worker still inside a model step would abort the
        # interpreter's normal exit; and after Ctrl-C the user should not wait for the teardown
        # of torch's thread pools and the sound server's client (up to seconds on a busy CPU).
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _backend(args: argparse.Namespace):
    """The engine the options and settings choose: this computer's, or a server (checked
    before any audio is captured, so an unreachable one is one line, not a lost session)."""
    choice = engine_choice(args)
    if choice.kind != "local":
        return open_remote(choice, max_lag_s=args.max_lag, command="live")
    from app.live.local import LocalBackend

    say(f"loading the speech model from {args.model or 'the managed model folder'}…")
    model = load_engine(args)
    return model if isinstance(model, int) else LocalBackend(model)


def _saving(add, unsaved: list[StorageError], view: TerminalView):
    """``add`` made safe for the pipeline: a storage error is shown once, not per event; the
    text stays in memory, and the journal retries on the next write."""
    def call(item: object) -> None:
        try:
            add(item)
        except StorageError as err:
            if not unsaved:
                view.error("", str(err))
            unsaved.append(err)

    return call


def _partial(transcript: Transcript, err: StorageError, code: int, output: str | None) -> int:
    """One line saying what was kept where; exit status PARTIAL unless something worse failed."""
    kept = f"session {transcript.session_id} keeps what was saved before"
    where = f"; {output} has the whole transcript" if output and code == 0 else ""
    fail(f"the session could not be saved completely ({err.reason}); {kept}{where}.", 1, "live")
    return code or PARTIAL


def _capture(pipeline, seconds: float | None, interrupts: Interrupts, what: str) -> int:
    from app.audio import SourceUnavailable

    try:
        pipeline.start()
    except SourceUnavailable as err:
        return fail(str(err), 1, "live")
    say(f"listening to {what}" + (f" for {seconds:g} s" if seconds else "") + " (Ctrl-C stops).")
    # --seconds counts listening only; a file that plays out earlier ends it earlier.
    deadline = time.monotonic() + seconds if seconds else math.inf
    while not interrupts.stop.is_set() and (left := deadline - time.monotonic()) > 0:
        if pipeline.wait(min(0.2, left)):
            break
    interrupts.stop.set()  # from here a Ctrl-C quits at once
    if interrupts.count:
        pipeline.stop(timeout=max(0.0, interrupts.first_at + FINISH_S - time.monotonic()),
                      drain=False)
    else:
        pipeline.stop()
    return 0


def say(message: str) -> None:
    """A progress line on stderr, so stdout holds only the transcript."""
    print(f"voxcap live: {message}", file=sys.stderr, flush=True)


class Interrupts:
    """Ctrl-C and SIGTERM while captioning: the first stops cleanly, a second quits at once.

    These handlers stand in for KeyboardInterrupt on purpose: raised inside ``Thread.join``,
    that exception makes CPython (3.11) take a still-running thread for ended, and the session
    would then be closed under the worker's feet.
    """

    def __init__(self) -> None:
        self.stop = threading.Event()  # set when captioning should end, for whatever reason
        self.count = 0  # signals received
        self.first_at = 0.0  # time.monotonic() of the first
        self._previous: dict[int, object] = {}

    def __enter__(self) -> Self:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, frame: object) -> None:
        # os.write, not print: the signal may land while the main thread is inside a print to
        # the same stream, and a buffered stream refuses to be re-entered.
        self.count += 1
        if self.count == 1:
            self.first_at = time.monotonic()
        if self.stop.is_set() and self.count > 1:
            _tell("\nvoxcap live: stopped at once; the session keeps what was saved up to the "
                  "last second.\n")
            os._exit(130)
        self.stop.set()
        _tell("\nvoxcap live: stopping… (Ctrl-C again quits at once)\n")


def _tell(message: str) -> None:
    """Write straight to stderr's file: a handler may run while a print is half done, and
    Python's buffered stream refuses to be entered twice."""
    try:
        os.write(sys.stderr.fileno(), message.encode())
    except (OSError, ValueError, AttributeError):  # a stream without a file (tests)
        pass


class Gate:
    """Passes calls on until closed; a call in progress finishes before ``close`` returns."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open = True

    def wrap(self, fn: Callable[..., None]) -> Callable[..., None]:
        def call(*args: object) -> None:
            with self._lock:
                if self._open:
                    fn(*args)

        return call

    def close(self) -> None:
        with self._lock:
            self._open = False


class TerminalView:
    """A rolling line per source on a terminal; finished segments as plain lines elsewhere."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self._live: dict[str, str] = {}  # source label -> its segment growing now
        self._lock = threading.Lock()
        self._drawn = 0

    def changed(self, change: SegmentChange) -> None:
        seg = change.segment
        with self._lock:
            if not self.tty:
                if change.added and seg.source in self._live:
                    self._print(self._live[seg.source])
                self._live[seg.source] = f"[{_clock(seg.start)}] {seg.source}: {seg.text.strip()}"
                return
            self._live[seg.source] = seg.text.strip()
            self._redraw()

    def status(self, status: SourceStatus) -> None:
        return None  # the terminal view keeps to text; lag shows in the GUI's status line

    def error(self, label: str, message: str) -> str:
        with self._lock:
            self._clear()
            print(f"voxcap live: {label + ': ' if label else ''}{message}", file=sys.stderr)
            self._drawn = 0
        return message

    def close(self) -> None:
        with self._lock:
            if self.tty:
                self.out.write("\n")
            else:
                for line in self._live.values():
                    self._print(line)
            self._live.clear()
            self.out.flush()

    def _print(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()

    def _clear(self) -> None:
        if self.tty and self._drawn:
            self.out.write(f"\x1b[{self._drawn - 1}A\r\x1b[J" if self._drawn > 1 else "\r\x1b[K")

    def _redraw(self) -> None:
        width = shutil.get_terminal_size().columns - 1
        self._clear()
        lines = []
        for label, text in self._live.items():
            room = max(10, width - len(label) - 2)
            lines.append(f"{label}: {text[-room:]}")
        self.out.write("\n".join(lines))
        self.out.flush()
        self._drawn = len(lines)


def _clock(seconds: float) -> str:
    m, s = divmod(max(0.0, seconds), 60)
    return f"{int(m):02d}:{s:04.1f}"
