"""Turns one source's growing text into segments: a new one at each pause or sentence end.

Text arrives as pieces that concatenate ("Hel" + "lo." + " How"); a pause of ``pause`` seconds or
more between two pieces, or a sentence end (. ? ! and their CJK forms), closes the segment -- but
only at a word boundary, so "3" + "." + "5" stays "3.5". Missing audio (a ``Gap``) becomes its own
segment of kind "gap" whose text is the marker the exports show ("[4.2 s skipped]").
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Iterable

from app.events import Piece, Segment
from app.transcript.text import CLOSERS, SENTENCE_ENDS, STRONG_ENDS, can_break, ends_sentence

PAUSE = 1.2  # seconds of silence between pieces that start a new segment
# Characters after which a segment ends at the next word boundary even without a pause or a
# sentence end (minutes of unpunctuated speech), so no segment grows without bound.
MAX_SEGMENT_CHARS = 2000
# Gaps closer than this (seconds) are one marker: overflow often drops many short runs in a row.
GAP_JOIN = 0.1

_closers = re.escape(CLOSERS)
_weak_ends = re.escape("".join(c for c in SENTENCE_ENDS if c not in STRONG_ENDS))
# A sentence end inside one piece, where the rest of the piece starts the next sentence.
_INNER_END = re.compile(
    rf"[{_weak_ends}][{_closers}]*(?=\s+\S)|[{re.escape(STRONG_ENDS)}][{_closers}]*(?=[^\s{_closers}])"
)

Change = tuple[Segment, bool]  # the segment, and True when it is new


def gap_text(duration: float) -> str:
    return f"[{max(duration, 0.1):.1f} s skipped]"


class SourceSegmenter:
    """Segments of one source, built piece by piece. Not thread-safe: ``Transcript`` locks."""

    def __init__(self, source: str, pause: float = PAUSE) -> None:
        self.source = source
        self.pause = pause
        self._last: Segment | None = None  # the newest segment, speech or gap
        self._raw = ""  # the open speech segment's pieces, joined as they came
        self._open = False

    def add_text(self, text: str, start: float, end: float, wall: float) -> list[Change]:
        """Adds one piece of text; returns the segments it created or changed, in order."""
        changes: list[Change] = []
        for piece in _split_at_sentences(Piece(text, start, end)):
            blank = not piece.text.strip()
            if blank and not self._open:
                continue  # whitespace alone never opens a segment
            if not blank and self._starts_segment(piece):
                self._last = Segment(self.source, piece.start, piece.end, "", [], wall, wall)
                self._raw, self._open = "", True
                changes.append((self._last, True))
            seg = self._last
            seg.pieces.append(piece)
            self._raw += piece.text
            seg.text = self._raw.strip()
            seg.end = max(seg.end, piece.end)
            seg.wall_end = wall
            if not changes or changes[-1][0] is not seg:
                changes.append((seg, False))
        return changes

    def add_gap(self, t: float, duration: float, wall: float) -> list[Change]:
        """Records missing audio; the next text starts a new segment."""
        self._open = False
        last = self._last
        if last is not None and last.kind == "gap" and t <= last.end + GAP_JOIN:
            last.end = max(last.end, t + duration)
            last.text = gap_text(last.end - last.start)
            last.wall_end = wall
            return [(last, False)]
        self._last = Segment(
            self.source, t, t + duration, gap_text(duration), [], wall, wall, kind="gap"
        )
        return [(self._last, True)]

    def close_segment(self) -> None:
        """Ends the open segment, so the next text starts a new one (e.g. after a restart)."""
        self._open = False

    def _starts_segment(self, piece: Piece) -> bool:
        if not self._open:
            return True
        if len(self._raw) >= 2 * MAX_SEGMENT_CHARS:
            return True  # one endless "word": cut it anyway
        if not can_break(self._raw, piece.text):
            return False
        return (
            piece.start - self._last.end >= self.pause
            or ends_sentence(self._raw)
            or len(self._raw) >= MAX_SEGMENT_CHARS
        )


def _split_at_sentences(piece: Piece) -> list[Piece]:
    """Cuts a piece that holds a sentence end followed by more text; time is shared by length."""
    cuts = [m.end() for m in _INNER_END.finditer(piece.text)]
    if not cuts:
        return [piece]
    bounds = [0, *cuts, len(piece.text)]
    step = (piece.end - piece.start) / len(piece.text)
    return [
        Piece(piece.text[a:b], piece.start + step * a, piece.start + step * b)
        for a, b in itertools.pairwise(bounds)
    ]


def segments_from_pieces(
    source: str, pieces: Iterable[Piece], pause: float = PAUSE
) -> list[Segment]:
    """Segments of a whole recording at once (e.g. a file transcription); wall clock unknown."""
    segmenter = SourceSegmenter(source, pause)
    out: list[Segment] = []
    for piece in pieces:
        out.extend(seg for seg, new in segmenter.add_text(piece.text, piece.start, piece.end, 0.0)
                   if new)
    return out
