"""``voxcap sessions``: list, show, export, rename and delete recorded sessions.

Every session the app recorded -- including one it was killed in the middle of, restored from
its journal -- can be read back here without the model or a GUI.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from app.atomic import write_atomic
from app.commands.common import done, fail, output_format, utf8_stdout
from app.transcript import (
    FORMATS,
    SessionBusy,
    SessionContents,
    SessionFormatError,
    SessionNotFound,
    delete_session,
    export,
    export_chunks,
    list_sessions,
    read_session,
    rename_session,
)
from app.transcript.sessions import sessions_dir


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sessions",
        help="list, show, export, rename or delete recorded sessions",
        description="Recorded sessions (saved as they happen, so they survive a crash). "
        "A session is kept once it has text. ID is the short code `sessions list` shows "
        "(like k7m2qx); any prefix that names one session will do, in either case.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="all sessions, newest first")
    show = actions.add_parser("show", help="a session's details and transcript")
    show.add_argument("id", metavar="ID")
    out = actions.add_parser("export", help="write a session as text, subtitles, JSON or Markdown")
    out.add_argument("id", metavar="ID")
    out.add_argument("--format", "-f", choices=list(FORMATS),
                     help="default: from the --output suffix, else txt")
    out.add_argument("--output", "-o", type=Path, metavar="PATH",
                     help="file to write (default: standard output)")
    out.add_argument("--timestamps", action=argparse.BooleanOptionalAction, default=True,
                     help="start times before lines (txt) or paragraphs (md)")
    out.add_argument("--labels", action=argparse.BooleanOptionalAction, default=None,
                     help="speaker names (default: when there is more than one source)")
    rename = actions.add_parser("rename", help="give a session a new name")
    rename.add_argument("id", metavar="ID")
    rename.add_argument("name", metavar="NAME")
    delete = actions.add_parser("delete", help="delete a session and its transcript for good")
    delete.add_argument("id", metavar="ID")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    utf8_stdout()  # names and transcripts hold any script, whatever the terminal's code page
    action = {"list": _list, "show": _show, "export": _export,
              "rename": _rename, "delete": _delete}[args.action]
    try:
        return action(args)
    except SessionNotFound as exc:
        return _fail(str(exc), 2)
    except (SessionBusy, SessionFormatError) as exc:
        return _fail(str(exc), 1)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        return _fail(f"{exc.strerror}{where}" if exc.strerror else str(exc), 1)


def _list(args: argparse.Namespace) -> int:
    infos = list_sessions()
    if not infos:
        print(f"no sessions yet (they are kept in {sessions_dir()})")
        return 0
    rows = [("ID", "NAME", "STARTED", "DURATION", "SOURCES")]
    rows += [(i.id, i.name, _when(i.created), _duration(i.duration), ", ".join(i.sources))
             for i in infos]
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1])
    for info in infos:
        if info.problem:
            print(f"voxcap sessions: session {info.id} {info.problem}", file=sys.stderr)
    return 0


def _show(args: argparse.Namespace) -> int:
    session = _read(args.id)
    info = session.info
    print(f"id:       {info.id}")
    print(f"name:     {info.name}")
    print(f"started:  {_when(info.created)}")
    print(f"duration: {_duration(info.duration)}")
    print(f"sources:  {', '.join(info.sources) or '-'}")
    print(f"state:    {_state(info.closed, info.recording)}")
    print(f"folder:   {info.path}")
    print()
    sys.stdout.write(export(session.segments, "txt", labels=True) or "(no speech recorded)\n")
    return 0


def _export(args: argparse.Namespace) -> int:
    try:
        fmt = output_format(args.format, args.output)
    except ValueError as err:
        return _fail(str(err), 2)
    session = _read(args.id)
    info = session.info
    text = export_chunks(session.segments, fmt, labels=args.labels,
                         timestamps=args.timestamps, title=info.name)
    if args.output is None:
        sys.stdout.writelines(text)
        return 0
    try:
        write_atomic(args.output, text)
    except OSError as exc:
        return _fail(f"cannot write {args.output}: {exc.strerror or exc}; "
                     "any earlier file there is unchanged", 1)
    done(f"Wrote {args.output} ({fmt}, session {info.id}).")
    return 0


def _read(ref: str) -> SessionContents:
    """The session, after one line on stderr if damaged records had to be left out."""
    session = read_session(ref)
    if session.skipped:
        print(f"voxcap sessions: skipped {session.skipped} damaged record"
              f"{'s' if session.skipped > 1 else ''} of session {session.info.id}; "
              "the rest is shown", file=sys.stderr)
    return session


def _state(closed: bool, recording: bool) -> str:
    if recording:
        return "being recorded now"
    return "closed" if closed else "not closed (restored after a crash)"


def _rename(args: argparse.Namespace) -> int:
    try:
        info = rename_session(args.id, args.name)
    except ValueError as exc:
        return _fail(str(exc), 2)
    print(f"{info.id}: {info.name}")
    return 0


def _delete(args: argparse.Namespace) -> int:
    info = delete_session(args.id)
    done(f"Deleted {info.id} ({info.name}).")
    return 0


def _fail(message: str, code: int) -> int:
    return fail(message, code, "sessions")


def _when(wall: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(wall))


def _duration(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"

