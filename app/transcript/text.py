"""Where streamed text may be cut: word, clause and sentence boundaries.

The model's text arrives as byte-pair pieces. A piece that starts with a space begins a new word;
one that does not continues the word before it (" wor" + "ld"). Scripts written without spaces
(Chinese, Japanese) may break between any two characters. The segmenter, the subtitle cue builder
and the exports all cut text with the helpers below, so they agree on what a word is.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from app.events import Piece

SENTENCE_ENDS = ".?!…。？！｡"
# These end a sentence even when no space follows, as written Chinese and Japanese do.
STRONG_ENDS = "。？！｡"
CLAUSE_ENDS = ",;:，、；：—–"
# Closing quotes and brackets that may follow a sentence end ('He said "no."').
CLOSERS = "\"'”’»)]}」』）】〉》"
# Punctuation a line must not start with (CJK line-breaking rules): it sticks to the word before.
NO_LINE_START = "。、，．？！：；）」』】〉》" + CLOSERS


def spaceless(ch: str) -> bool:
    """True for characters of scripts written without spaces between words (CJK, kana)."""
    if unicodedata.east_asian_width(ch) not in ("W", "F"):
        return False
    # Korean is wide but separates words with spaces.
    return not unicodedata.name(ch, "").startswith("HANGUL")


def can_break(before: str, after: str) -> bool:
    """Whether text may be cut between ``before`` and ``after`` without splitting a word."""
    if not before or not after:
        return True
    a, b = before[-1], after[0]
    return a.isspace() or b.isspace() or spaceless(a) or spaceless(b)


def spaced(before: str, after: str) -> bool:
    """Whether two separate texts are joined with a space (not between CJK characters)."""
    return bool(before) and bool(after) and not (spaceless(before[-1]) or spaceless(after[0]))


def ends_sentence(text: str) -> bool:
    stripped = text.rstrip().rstrip(CLOSERS)
    return bool(stripped) and stripped[-1] in SENTENCE_ENDS


def ends_clause(text: str) -> bool:
    stripped = text.rstrip().rstrip(CLOSERS)
    return bool(stripped) and stripped[-1] in CLAUSE_ENDS


def one_line(text: str) -> str:
    """Text as a single clean line: runs of whitespace become one space, control codes go."""
    return " ".join("".join(ch for ch in text if ch.isspace() or _visible(ch)).split())


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float
    space_before: bool  # written with a space before it (False for the first word, CJK, parts)


def split_words(pieces: Iterable[Piece]) -> list[Word]:
    """Words with their times, rebuilt from pieces that may cut words anywhere.

    A word spans from the start of its first character's share of its piece's time to the end
    of its last character's; inside a piece, the visible characters share its time equally.
    Linear in the text's length, however long a word is.
    """
    words: list[list] = []  # [characters, start, end, space_before] while words grow
    joinable = False  # the last word continues if the next character is a letter of it
    space = False  # whitespace seen since the last word
    for piece in pieces:
        visible = sum(1 for ch in piece.text if _visible(ch))
        step = (piece.end - piece.start) / (visible or 1)
        k = 0  # visible characters of this piece so far
        for ch in piece.text:
            if ch.isspace():
                joinable, space = False, True
                continue
            if not _visible(ch):
                continue
            t0, t1 = piece.start + step * k, piece.start + step * (k + 1)
            k += 1
            sticks = words and not space and ch in NO_LINE_START
            if words and (sticks or (joinable and not spaceless(ch))):
                words[-1][0].append(ch)
                words[-1][2] = t1
            else:
                words.append([[ch], t0, t1, space and bool(words)])
            joinable, space = not spaceless(ch), False
    return [Word("".join(chars), start, end, before) for chars, start, end, before in words]


def _visible(ch: str) -> bool:
    return not ch.isspace() and unicodedata.category(ch) != "Cc"


def join_words(words: Iterable[Word]) -> str:
    out: list[str] = []
    for word in words:
        if out and word.space_before:
            out.append(" ")
        out.append(word.text)
    return "".join(out)
