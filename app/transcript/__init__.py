"""The transcript: segments built from the pipeline's text, saved as they grow, and exported.

No Qt, no model, no audio here. The pipeline feeds a ``Transcript``; the GUI subscribes to it;
the command line lists, shows and exports saved sessions; a file transcription turns pieces into
segments with ``segments_from_pieces`` and writes them with ``export_chunks``.
"""
from __future__ import annotations

from app.transcript.cues import Cue, build_cues
from app.transcript.export import FORMATS, export, export_chunks, format_for_path
from app.transcript.journal import StorageError
from app.transcript.segmenter import PAUSE, segments_from_pieces
from app.transcript.sessions import (
    SessionBusy,
    SessionContents,
    SessionFormatError,
    SessionInfo,
    SessionNotFound,
    create_session,
    delete_session,
    find_session,
    list_sessions,
    load_segments,
    read_session,
    rename_session,
    reopen_session,
    session_exists,
)
from app.transcript.transcript import SegmentChange, Transcript

__all__ = [
    "FORMATS",
    "PAUSE",
    "Cue",
    "SegmentChange",
    "SessionBusy",
    "SessionContents",
    "SessionFormatError",
    "SessionInfo",
    "SessionNotFound",
    "StorageError",
    "Transcript",
    "build_cues",
    "create_session",
    "delete_session",
    "export",
    "export_chunks",
    "find_session",
    "format_for_path",
    "list_sessions",
    "load_segments",
    "read_session",
    "rename_session",
    "reopen_session",
    "segments_from_pieces",
    "session_exists",
]
