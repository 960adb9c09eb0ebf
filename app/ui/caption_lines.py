"""Caption text broken into display lines that only ever grow at the bottom.

Live captions must not flicker: once a line is full it is frozen and never re-wrapped, only the
last (open) line takes new text. When the open line overflows it breaks at its last space, so at
most the word being spoken moves down to the new line, the way any captioner wraps. A change of
speaker (source) starts a new line that begins with that source's label. Only a bounded number of
lines is kept, so hours of captions use constant memory. No Qt here: the caller passes a text
measuring function (QFontMetricsF.horizontalAdvance in the overlay).
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class CaptionLine:
    source: str
    label: str  # shown before the text on the first line of a speaker's turn, else ""
    text: str
    joiner: str = ""  # what the wrap removed before this line (" " or "" mid-word)

    @property
    def prefix(self) -> str:
        return f"{self.label}: " if self.label else ""


class CaptionLines:
    """Rolling, word-wrapped caption lines for one overlay width and font."""

    def __init__(self, measure: Callable[[str], float], width: float, keep: int = 64) -> None:
        self._measure = measure
        self._width = width
        self._keep = keep
        self._lines: deque[CaptionLine] = deque(maxlen=keep)
        self.added = 0  # lines ever started, so views can tell how far to roll

    @property
    def lines(self) -> list[CaptionLine]:
        return list(self._lines)

    def clear(self) -> None:
        self._lines.clear()

    def append(self, source: str, label: str, text: str) -> int:
        """Add ``text`` said by ``source``; returns how many new lines it started."""
        before = self.added
        last = self._lines[-1] if self._lines else None
        if last is None or last.source != source:
            text = text.lstrip()
            if not text:
                return 0
            last = self._start(source, label, "")
        last.text += text
        self._wrap_open_line()
        return self.added - before

    def relayout(self, width: float, measure: Callable[[str], float] | None = None) -> None:
        """Re-wrap everything for a new width or font (a user action, so moving text is fine)."""
        self._width = width
        if measure is not None:
            self._measure = measure
        turns: list[CaptionLine] = []
        for line in self._lines:
            if line.label or not turns or turns[-1].source != line.source:
                turns.append(CaptionLine(line.source, line.label, line.text))
            else:
                turns[-1].text += line.joiner + line.text
        self._lines.clear()
        for turn in turns:
            self._start(turn.source, turn.label, turn.text)
            self._wrap_open_line()

    def _start(self, source: str, label: str, text: str, joiner: str = "") -> CaptionLine:
        line = CaptionLine(source, label, text, joiner)
        self._lines.append(line)
        self.added += 1
        return line

    def _fits(self, line: CaptionLine, text: str) -> bool:
        return self._measure(line.prefix + text) <= self._width

    def _wrap_open_line(self) -> None:
        line = self._lines[-1]
        while not self._fits(line, line.text):
            head, joiner, tail = self._split(line)
            if not tail:
                return
            line.text = head
            line = self._start(line.source, "", tail, joiner)

    def _split(self, line: CaptionLine) -> tuple[str, str, str]:
        """Break an overflowing line: at the last space that fits, or mid-word if none does."""
        text = line.text
        cut = text.rfind(" ")
        while cut > 0 and not self._fits(line, text[:cut]):
            cut = text.rfind(" ", 0, cut)
        if cut > 0 and text[:cut].strip():
            return text[:cut].rstrip(), " ", text[cut:].lstrip()
        # One word wider than the line: keep as many characters as fit, at least one.
        n = 1
        while n < len(text) and self._fits(line, text[: n + 1]):
            n += 1
        return text[:n], "", text[n:]
