"""Subtitle cues from segments, after broadcast caption practice (used by SRT and WebVTT).

A cue holds at most 2 lines of at most 42 characters and stays up 1 to 7 seconds: until its last
word has been spoken and its text can be read at 20 characters a second, whichever is later.
Cues break at pauses, at sentence ends once they have lasted a second, and when full at the last
sentence end, clause end or short pause inside them; a word is cut only when it alone is wider
than a line.

Several sources share one timeline and their cues never overlap. All cues are taken in order of
their first word; each ends, at the latest, when the next begins; and a cue that would begin less
than a second after the one before waits until that one has been up for a second. A cue cut
short by another speaker's comes back after it (``resumed``) for the time it still wanted, unless
its speaker has moved on by then. So when "Me" and "Them" speak at once their cues take turns,
each shown at least a second and never before its first word was spoken. With labels, a
speaker's name starts the cue's first line and counts towards its width.
"""
from __future__ import annotations

import dataclasses
import heapq
import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass

from app.events import Piece, Segment
from app.transcript.segmenter import PAUSE
from app.transcript.text import (
    Word,
    ends_clause,
    ends_sentence,
    join_words,
    one_line,
    spaced,
    split_words,
)

MAX_CHARS = 42  # per line
MIN_DURATION = 1.0  # seconds
MAX_DURATION = 7.0
READING_RATE = 20.0  # characters per second
SPLIT_PAUSE = 0.3  # seconds between words that make a fair place to cut a full cue
LABEL_WIDTH = 16  # longer speaker names are shortened in the line prefix
_PUNCTUATION_BONUS = 12  # characters of imbalance worth accepting to break lines after , or .


@dataclass(frozen=True)
class Cue:
    source: str
    start: float  # seconds, whole milliseconds
    end: float
    lines: tuple[str, ...]  # without the speaker label
    resumed: bool = False  # shown again after another source's cue cut it short


def label_prefix(source: str) -> str:
    label = source if len(source) <= LABEL_WIDTH else source[: LABEL_WIDTH - 1] + "…"
    return f"{label}: "


def build_cues(
    segments: Iterable[Segment],
    *,
    labelled: bool = False,
    pause: float = PAUSE,
    end: float | None = None,
) -> list[Cue]:
    """Cues for all sources on one timeline, in order, never overlapping.

    ``end``, the end of the audio in seconds when known, cuts short the cues that would stay
    up past it (the reading time and the one-second minimum give way to it).
    """
    by_source: dict[str, list[Segment]] = {}
    for seg in sorted(segments, key=lambda s: s.start):
        by_source.setdefault(seg.source, []).append(seg)
    cues: list[Cue] = []
    for source, segs in by_source.items():
        first = MAX_CHARS - (len(label_prefix(source)) if labelled else 0)
        layout = _Layout(first, pause)
        cues.extend(layout.cue(source, words) for words in layout.chunks(segs))
    rank = {source: n for n, source in enumerate(by_source)}
    cues.sort(key=lambda cue: (cue.start, rank[cue.source]))  # stable: a source keeps its order
    placed = _sequence(cues)
    if end is None:
        return placed
    return [dataclasses.replace(c, end=max(c.start, min(c.end, _ms(end) / 1000))) for c in placed]


class _Layout:
    """Cuts one source's words into cues whose first line is ``first`` characters wide."""

    def __init__(self, first: int, pause: float) -> None:
        self.first = first
        self.pause = pause

    def chunks(self, segments: list[Segment]) -> list[list[Word]]:
        out: list[list[Word]] = []
        cur: list[Word] = []
        for seg in segments:
            if seg.kind == "gap":  # a gap marker is a cue of its own
                if cur:
                    out.append(cur)
                    cur = []
                out.append([Word(one_line(seg.text), seg.start, seg.end, False)])
                continue
            words = self._narrow(_words(seg))
            if cur and words:  # a new segment's first word follows on from the last one's
                space = spaced(cur[-1].text, words[0].text)
                words[0] = dataclasses.replace(words[0], space_before=space)
            for i, word in enumerate(words):
                if cur and self._breaks(cur, word, new_segment=i == 0):
                    out.append(cur)
                    cur = []
                while cur and not self.fits([*cur, word]):
                    k = self._split_point(cur)
                    out.append(cur[:k])
                    cur = cur[k:]
                cur.append(word)
        if cur:
            out.append(cur)
        return out

    def cue(self, source: str, words: list[Word]) -> Cue:
        start = words[0].start
        spoken = max(word.end for word in words)
        reading = sum(_widths(words)) / READING_RATE
        end = min(max(spoken, start + MIN_DURATION, start + reading), start + MAX_DURATION)
        return Cue(source, start, end, tuple(self.wrap(words) or [join_words(words)]))

    def fits(self, words: list[Word]) -> bool:
        if len(words) > 1 and words[-1].end - words[0].start > MAX_DURATION:
            return False
        return self.wrap(words) is not None

    def wrap(self, words: list[Word]) -> list[str] | None:
        """The words on one line or two balanced ones, or None when they do not fit."""
        widths = _widths(words)
        total = sum(widths)
        if total <= self.first:
            return [join_words(words)]
        best: tuple[int, int] | None = None  # (score, cut)
        head = 0
        for k in range(1, len(words)):
            head += widths[k - 1]
            tail = total - head - (1 if words[k].space_before else 0)
            if head > self.first:
                break
            if tail > MAX_CHARS:
                continue
            score = abs(head - tail)
            if ends_sentence(words[k - 1].text) or ends_clause(words[k - 1].text):
                score -= _PUNCTUATION_BONUS
            if best is None or score < best[0]:
                best = (score, k)
        if best is None:
            return None
        return [join_words(words[: best[1]]), join_words(words[best[1] :])]

    def _breaks(self, cur: list[Word], word: Word, new_segment: bool) -> bool:
        """A cue ends before ``word`` at a pause, or at a sentence end once it lasted 1 s."""
        if word.start - cur[-1].end >= self.pause:
            return True
        sentence = new_segment or ends_sentence(cur[-1].text)
        return sentence and cur[-1].end - cur[0].start >= MIN_DURATION

    def _split_point(self, cur: list[Word]) -> int:
        """Where to cut a full cue: its last sentence end, else clause end, else short pause,
        keeping at least a third of its text in the first part; else after all of it."""
        widths = _widths(cur)
        total = sum(widths)
        best: dict[int, int] = {}  # priority -> cut
        head = 0
        for k in range(1, len(cur)):
            head += widths[k - 1]
            if head * 3 < total:
                continue
            before = cur[k - 1]
            if ends_sentence(before.text):
                best[3] = k
            elif ends_clause(before.text):
                best[2] = k
            elif cur[k].start - before.end >= SPLIT_PAUSE:
                best[1] = k
        return best[max(best)] if best else len(cur)

    def _narrow(self, words: list[Word]) -> list[Word]:
        """Cuts words wider than a line into line-wide parts, sharing out their time."""
        out: list[Word] = []
        for word in words:
            n = len(word.text)
            if n <= self.first:
                out.append(word)
                continue
            step = (word.end - word.start) / n
            for a in range(0, n, self.first):
                b = min(a + self.first, n)
                out.append(Word(word.text[a:b], word.start + step * a, word.start + step * b,
                                word.space_before and a == 0))
        return out


def _words(seg: Segment) -> list[Word]:
    # Segments built elsewhere may have no pieces: their text then spans the segment evenly.
    return split_words(seg.pieces or [Piece(seg.text, seg.start, seg.end)])


def _widths(words: list[Word]) -> list[int]:
    """Characters each word adds to a line, counting the space before all but the first."""
    return [len(w.text) + (1 if w.space_before and i else 0) for i, w in enumerate(words)]


def _sequence(cues: list[Cue]) -> list[Cue]:
    """Fits cues sorted by start onto one timeline without overlap, in whole milliseconds.

    A cue cut short by another source's cue comes back after it for the time it still wanted,
    unless its own source's next cue starts before that.
    """
    min_ms, max_ms = round(MIN_DURATION * 1000), round(MAX_DURATION * 1000)
    heap = [
        (_ms(cue.start), n, _ms(cue.end), limit, cue)
        for n, (cue, limit) in enumerate(zip(cues, _next_starts(cues), strict=True))
    ]
    heapq.heapify(heap)  # already in order; resumed cues are pushed in among the rest
    arrival = itertools.count(len(heap))
    placed: list[list] = []  # [start, end, wanted end, limit, cue], all in ms
    while heap:
        start, _, want, limit, cue = heapq.heappop(heap)
        start = max(start, 0)
        cut = None
        if placed:
            prev = placed[-1]
            start = max(start, prev[0] + min_ms)
            if prev[1] > start:
                prev[1] = start
                cut = prev
        end = min(max(want, start + min_ms), start + max_ms)
        if cut is not None and cut[4].source != cue.source:
            rest = min(cut[2], cut[3])
            if rest - end >= min_ms:
                again = dataclasses.replace(cut[4], resumed=True)
                heapq.heappush(heap, (end, next(arrival), rest, cut[3], again))
        placed.append([start, end, want, limit, cue])
    return [
        dataclasses.replace(cue, start=start / 1000, end=end / 1000)
        for start, end, _, _, cue in placed
    ]


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _next_starts(cues: list[Cue]) -> list[float]:
    """For each cue, when the next cue of the same source starts (ms; inf for the last)."""
    following: dict[str, float] = {}
    out: list[float] = []
    for cue in reversed(cues):
        out.append(following.get(cue.source, math.inf))
        following[cue.source] = _ms(cue.start)
    return out[::-1]
