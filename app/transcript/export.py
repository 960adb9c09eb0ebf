"""Transcript exports: plain text, SRT, WebVTT, JSON and Markdown.

``export(segments, fmt, ...)`` (a string) and ``export_chunks`` (the same text in pieces, for
writing a long transcript without holding it whole) are the entry points the command line and
the GUI share, and ``FORMATS`` the list they offer. Options, for the formats they apply to:

- ``labels``: speaker names (txt, md: before the text; srt: "Me: " starting the cue; vtt: voice
  tags ``<v Me>``). None shows them when the segments come from more than one source.
- ``timestamps``: start times before each line (txt) or paragraph (md).
- ``title``: a heading (md) or a field (json).

JSON holds everything: every segment with its wall-clock times, its pieces and its words, each
with audio times in seconds; wall-clock times are Unix seconds.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from app.events import Piece, Segment
from app.transcript.cues import Cue, build_cues, label_prefix
from app.transcript.text import Word, one_line, spaced, split_words

FORMATS: dict[str, str] = {
    "txt": "Plain text",
    "srt": "SubRip subtitles",
    "vtt": "WebVTT subtitles",
    "json": "JSON with word times",
    "md": "Markdown",
}
PARAGRAPH_PAUSE = 3.0  # seconds of silence that start a new Markdown paragraph


def export(segments: Iterable[Segment], fmt: str, **options: object) -> str:
    """The segments written in format ``fmt`` (a key of FORMATS), as one string; the options
    are :func:`export_chunks`'. Raises ValueError for an unknown format."""
    return "".join(export_chunks(segments, fmt, **options))


def export_chunks(
    segments: Iterable[Segment],
    fmt: str,
    *,
    labels: bool | None = None,
    timestamps: bool = True,
    title: str | None = None,
    end: float | None = None,
) -> Iterator[str]:
    """The segments written in format ``fmt`` (a key of FORMATS), a segment or cue at a time;
    joined, exactly what :func:`export` returns.

    ``end``: where the audio ends (seconds), when known: no subtitle cue lasts past it. A
    three-hour transcript is tens of MB of text; written chunk by chunk it is never held
    whole. Raises ValueError for an unknown format at once, before the first chunk.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format '{fmt}'; choose one of {', '.join(FORMATS)}")
    ordered = sorted(segments, key=lambda seg: seg.start)
    show = len({seg.source for seg in ordered}) > 1 if labels is None else labels
    if fmt == "txt":
        return _txt(ordered, show, timestamps)
    if fmt == "srt":
        return _srt(build_cues(ordered, labelled=show, end=end), show)
    if fmt == "vtt":
        return _vtt(build_cues(ordered, end=end), show)
    if fmt == "json":
        return _json(ordered, title)
    return _md(ordered, show, timestamps, title)


def format_for_path(path: str | Path) -> str | None:
    """The format a file name asks for by its suffix ("notes.srt" -> "srt"), if any."""
    fmt = Path(path).suffix.lower().lstrip(".")
    return fmt if fmt in FORMATS else None


def _txt(segments: list[Segment], labels: bool, timestamps: bool) -> Iterator[str]:
    for seg in segments:
        text = one_line(seg.text)
        if not text:
            continue
        stamp = f"[{_hms(seg.start)}] " if timestamps else ""
        label = f"{seg.source}: " if labels else ""
        yield stamp + label + text + "\n"


def _srt(cues: list[Cue], labels: bool) -> Iterator[str]:
    for n, cue in enumerate(cues, 1):
        lines = list(cue.lines)
        if labels:
            lines[0] = label_prefix(cue.source) + lines[0]
        timing = f"{_clock(cue.start, ',')} --> {_clock(cue.end, ',')}"
        yield ("\n" if n > 1 else "") + f"{n}\n{timing}\n" + "\n".join(lines) + "\n"


def _vtt(cues: list[Cue], voices: bool) -> Iterator[str]:
    yield "WEBVTT\n"
    for cue in cues:
        text = "\n".join(_vtt_escape(line) for line in cue.lines)
        if voices:
            text = f"<v {_vtt_escape(cue.source)}>{text}</v>"
        yield f"\n{_clock(cue.start, '.')} --> {_clock(cue.end, '.')}\n{text}\n"


def _json(segments: list[Segment], title: str | None) -> Iterator[str]:
    def times(item: Piece | Word) -> dict:
        return {"text": item.text, "start": round(item.start, 3), "end": round(item.end, 3)}

    def segment(seg: Segment) -> dict:
        return {
            "source": seg.source,
            "kind": seg.kind,
            "start": round(seg.start, 3),
            "end": round(seg.end, 3),
            "wall_start": round(seg.wall_start, 3),
            "wall_end": round(seg.wall_end, 3),
            "text": seg.text,
            "words": [times(word) for word in split_words(seg.pieces)],
            "pieces": [times(piece) for piece in seg.pieces],
        }

    head: dict = {"format": "voxcap-transcript", "version": 1}
    if title is not None:
        head["title"] = title
    # One segment at a time: the whole document as dicts, then json.dumps with an indent, holds
    # ten times the text at once (140 MB for a three-hour transcript). The text is what
    # json.dumps(indent=2) writes.
    yield json.dumps(head, ensure_ascii=False, indent=2).removesuffix("\n}")
    yield ',\n  "segments": ['
    for i, seg in enumerate(segments):
        text = json.dumps(segment(seg), ensure_ascii=False, indent=2).replace("\n", "\n    ")
        yield f"{',' if i else ''}\n    {text}"
    yield "\n  ]\n}\n" if segments else "]\n}\n"


def _md(segments: list[Segment], labels: bool, timestamps: bool, title: str | None
        ) -> Iterator[str]:
    if title:
        yield "# " + _md_escape(one_line(title)) + "\n\n"
    prev: Segment | None = None  # the last segment written; its paragraph is still open
    for seg in segments:
        text = _md_escape(one_line(seg.text))
        if not text:
            continue
        if seg.kind == "gap":
            text = f"*{text}*"
        if _same_paragraph(prev, seg):
            yield (" " if spaced(prev.text.strip(), seg.text.strip()) else "") + text
        else:
            head = [f"**{_md_escape(seg.source)}**"] if labels else []
            head += [f"({_hms(seg.start)})"] if timestamps else []
            yield ("\n\n" if prev else "") + (
                " ".join(head) + ": " + text if head else _md_line_start(text))
        prev = seg
    if prev:
        yield "\n\n"


def _same_paragraph(prev: Segment | None, seg: Segment) -> bool:
    return (
        prev is not None
        and prev.source == seg.source
        and prev.kind == seg.kind == "speech"
        and seg.start - prev.end < PARAGRAPH_PAUSE
    )


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>~])|&(?=#?\w+;)")
# What would turn a paragraph into a heading, quote, list or rule when it starts one.
_MD_BLOCK_START = re.compile(r"^([#>+=-]|\d+(?=[.)]))")


def _md_escape(text: str) -> str:
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), text)


def _md_line_start(text: str) -> str:
    m = _MD_BLOCK_START.match(text)
    if m is None:
        return text
    if m.group(0)[0].isdigit():  # "1. x" is a list item: escape the dot, not the number
        end = m.end()
        return text[:end] + "\\" + text[end:]
    return "\\" + text


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _hms(seconds: float) -> str:
    s = max(int(seconds), 0)
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


def _clock(seconds: float, sep: str) -> str:
    ms = max(round(seconds * 1000), 0)
    s, ms = divmod(ms, 1000)
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}{sep}{ms:03d}"
