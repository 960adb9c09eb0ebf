"""``voxcap model``: the model manager from the terminal.

``status``, ``download`` (with a progress bar; Ctrl-C keeps the partial file for next time),
``verify``, ``import DIR``, ``path`` and ``remove``. Exit codes: 0 ok, 1 failure (or, for
``path`` and ``verify``, a model that is not ready), 2 bad usage or an unusable folder to import.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import TextIO

from app.commands.common import done, fail
from app.events import DownloadProgress
from app.models import (
    BadFolderError,
    ModelError,
    ModelManager,
    ModelStatus,
    State,
    human_size,
    not_ready_message,
)


def make_manager() -> ModelManager:
    """The one place this command builds its manager (the pinned checkpoint, default folders)."""
    return ModelManager()


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "model",
        help="download, check and locate the speech model",
        description="Manage the Voxtral checkpoint voxcap runs on.",
    )
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub.add_parser("status", help="each file of the pinned revision on disk: its state and size "
                   "(no network)")
    sub.add_parser("download", help="download what is missing (continues a stopped download)")
    sub.add_parser("verify", help="hash every file again and compare with the pinned values")
    imp = sub.add_parser("import", help="take the files from a folder you downloaded elsewhere")
    imp.add_argument("folder", metavar="DIR", type=Path)
    imp.add_argument(
        "--link", action="store_true", help="link to the files instead of copying them"
    )
    sub.add_parser("path", help="print the folder to load the model from")
    rm = sub.add_parser("remove", help="delete the downloaded model")
    rm.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    manager = make_manager()
    action = {
        "status": _status,
        "download": _download,
        "verify": _verify,
        "import": _import,
        "path": _path,
        "remove": _remove,
    }[args.action]
    try:
        return action(manager, args)
    except BadFolderError as e:
        return fail(str(e), 2, "model")
    except ModelError as e:
        return fail(str(e), 1, "model")


def _status(manager: ModelManager, args: argparse.Namespace) -> int:
    status = manager.status()
    print(f"Model:   {status.repo_id} at {status.revision[:12]}")
    print(f"Folder:  {status.folder}")
    print(f"State:   {status.state}")
    width = max(len(f.name) for f in status.files)
    for f in status.files:
        amount = human_size(f.size)
        if f.state in (State.PARTIAL, State.DOWNLOADING):
            amount = f"{human_size(f.done)} of {amount}"
        line = f"  {f.name:<{width}}  {f.state:<10}  {amount}"
        if f.reason:
            line += f"  ({f.reason})"
        if f.cached is not None:
            line += f"  [a copy in the Hugging Face cache will be used: {f.cached}]"
        print(line)
    if status.discrepancies:
        print("The Hub differs from the pinned values for this commit:")
        for d in status.discrepancies:
            print(f"  {d}")
    if not status.ready:
        print(not_ready_message(status))
    return 0


def _download(manager: ModelManager, args: argparse.Namespace) -> int:
    bar = TerminalProgress(sys.stderr)
    try:
        status = manager.download(progress=bar)
    except KeyboardInterrupt:
        bar.close()
        kept = manager.status()
        print(
            f"Stopped. {human_size(kept.done)} of {human_size(kept.size)} are on disk; run "
            "`voxcap model download` again to continue from there.",
            file=sys.stderr,
        )
        return 130
    finally:
        bar.close()
    return _report(status)


def _verify(manager: ModelManager, args: argparse.Namespace) -> int:
    bar = TerminalProgress(sys.stderr)
    try:
        status = manager.verify(progress=bar)
    finally:
        bar.close()
    return _report(status)


def _import(manager: ModelManager, args: argparse.Namespace) -> int:
    bar = TerminalProgress(sys.stderr)
    try:
        status = manager.import_folder(args.folder, progress=bar, link=args.link)
    finally:
        bar.close()
    return _report(status)


def _path(manager: ModelManager, args: argparse.Namespace) -> int:
    print(manager.path())
    return 0


def _remove(manager: ModelManager, args: argparse.Namespace) -> int:
    status = manager.status()
    if not status.folder.exists() or (status.state is State.MISSING and not status.done):
        done(f"Nothing to remove: no model files are downloaded in {status.folder}.")
        return 0
    if not args.yes and sys.stdin.isatty():
        answer = input(f"Delete {status.folder} ({human_size(status.done)})? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            done("Kept.")
            return 1
    manager.remove()
    done(f"Removed {status.folder}.")
    return 0


def _report(status: ModelStatus) -> int:
    if status.ready:
        print(f"Model ready: {status.folder}")
        return 0
    print(not_ready_message(status), file=sys.stderr)
    return 1


class TerminalProgress:
    """A one-line progress bar on a terminal; on a pipe or log, one line per step of each file."""

    WIDTH = 24

    def __init__(self, stream: TextIO):
        self._stream = stream
        self._tty = stream.isatty()
        self._step: tuple[str, str] | None = None
        self._open = False  # a bar is drawn without its newline yet
        self._last_draw = 0.0
        self._tenth = -1  # on a pipe: the last tenth of the current step printed

    def __call__(self, p: DownloadProgress) -> None:
        step = (p.file, p.state)
        new_step = step != self._step
        self._step = step
        if self._tty:
            now = time.monotonic()
            if new_step or now - self._last_draw >= 0.1 or p.done >= p.total:
                # A file's outcome (ready, error, cancelled) ends the line of its last step.
                ends_step = p.state in ("ready", "error", "cancelled")
                self._draw(p, newline=new_step and self._open and not ends_step)
                self._last_draw = now
            return
        tenth = 10 * p.done // p.total if p.total else 10
        if new_step or tenth > self._tenth:
            print(_describe(p), file=self._stream, flush=True)
            self._tenth = tenth

    def close(self) -> None:
        if self._open:
            print(file=self._stream, flush=True)
            self._open = False

    def _draw(self, p: DownloadProgress, newline: bool) -> None:
        if newline:
            print(file=self._stream)
        filled = int(self.WIDTH * p.done / p.total) if p.total else self.WIDTH
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        self._stream.write(f"\r[{bar}] {_describe(p)}\033[K")
        self._stream.flush()
        self._open = True


def _describe(p: DownloadProgress) -> str:
    pct = 100 * p.done / p.total if p.total else 100.0
    text = f"{p.file}: {p.state} {pct:3.0f}% {human_size(p.done)} of {human_size(p.total)}"
    if p.state in ("downloading", "verifying", "copying") and p.rate > 0:
        text += f", {human_size(p.rate)}/s"
        if math.isfinite(p.eta) and p.eta > 0:
            text += f", {_duration(p.eta)} left"
    return text


def _duration(seconds: float) -> str:
    s = int(seconds + 0.5)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"
