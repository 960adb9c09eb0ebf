"""``voxcap live``: captions in the terminal from a microphone, system audio, both, or a file.

The session is journaled as it goes (``voxcap sessions`` lists it); Ctrl-C or ``--seconds``
ends cleanly, the streams' last words included, and ``--output`` then gets the export.
"""
from __future__ import annotations

import argparse
import shutil
import signal
import sys
import threading
from pathlib import Path
from typing import TextIO

from app.commands.common import (
    add_model_options,
    fail,
    load_engine,
    output_format,
    write_output,
)
from app.commands.server import add_engine_options, engine_choice, open_remote
from app.events import SourceStatus
from app.transcript import FORMATS, SegmentChange, StorageError, Transcript, export

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


def run(args: argparse.Namespace) -> int:
    from app import settings as app_settings
    from app.live.pipeline import LivePipeline
    from app.transcript import create_session

    fmt = output_format(args.format, args.output)
    if fmt is None:
        return fail(f"cannot tell the format of {args.output}; add --format.", 2)
    settings = app_settings.load()
    prefs = settings.sources
    configs = source_configs(args.source, (prefs.mic_label, prefs.system_label))
    backend = _backend(args)
    if isinstance(backend, int):
        return backend
    # Events already carry labels. Nothing is on disk until the first text.
    transcript = create_session(keep=settings.keep_transcripts)
    view = TerminalView(sys.stdout)
    transcript.subscribe(view.changed)
    errors: list[str] = []
    unsaved: list[StorageError] = []
    pipeline = LivePipeline(
        backend, configs, args.delay_ms, args.max_lag,
        on_text=_saving(transcript.add_event, unsaved, view),
        on_gap=_saving(transcript.add_gap, unsaved, view), on_status=view.status,
        on_error=lambda label, msg: errors.append(view.error(label, msg)),
        realtime_files=not args.fast,
    )
    code = _capture(pipeline, args.seconds)
    view.close()
    try:
        transcript.close()
        unsaved.clear()  # the journal wrote its backlog after all: nothing is missing
    except StorageError as err:
        unsaved.append(err)
    if code == 0 and args.output:
        code = write_output(export(transcript.segments, fmt), args.output, sys.stdout)
    if unsaved:
        return _partial(transcript, unsaved[-1], code, args.output)
    return code or (1 if errors and not transcript.segments else 0)


def _backend(args: argparse.Namespace):
    """The engine the options and settings choose: this computer's, or a server (checked
    before any audio is captured, so an unreachable one is one line, not a lost session)."""
    choice = engine_choice(args)
    if choice.kind != "local":
        return open_remote(choice, max_lag_s=args.max_lag, command="live")
    from app.live.local import LocalBackend

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
    fail(f"the session could not be saved completely ({err.reason}); {kept}{where}.")
    return code or PARTIAL


def _capture(pipeline, seconds: float | None) -> int:
    from app.audio import SourceUnavailable

    try:
        pipeline.start()
    except SourceUnavailable as err:
        return fail(str(err), 1)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait(seconds) if seconds else _wait_for(pipeline, stop)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        pipeline.stop()
    return 0


def _wait_for(pipeline, stop: threading.Event) -> None:
    while not stop.is_set() and not pipeline.wait(0.2):
        pass


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
            print(f"voxcap: {label + ': ' if label else ''}{message}", file=sys.stderr)
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
