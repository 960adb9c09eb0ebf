"""Random transcripts for property tests: one or two sources whose speech overlaps in time.

Text comes as the model sends it: words cut into pieces, a space starting most words, any
Unicode (long words, CJK, markup-looking text, control and odd whitespace characters), with
random pauses, sentence ends and gaps.
"""
from __future__ import annotations

import itertools
import string

from hypothesis import strategies as st

from app.events import Segment
from app.transcript.segmenter import SourceSegmenter

# Lone surrogates cannot come out of a UTF-8 decoder, so they are the only characters left out.
ANY_CHAR = st.characters(exclude_categories=("Cs",))

words = st.one_of(
    st.text(string.ascii_letters, min_size=1, max_size=10),
    st.text(ANY_CHAR, min_size=1, max_size=8),
    st.text(string.ascii_lowercase + "./:-", min_size=43, max_size=100),  # wider than a line
    st.text("你好世界中文字幕测试", min_size=1, max_size=30),
    st.sampled_from([".", ",", "?", "!", "。", "！", "…", "-->", "<b>", "&amp;", "1.", "#", "*"]),
)


# Built once: hypothesis validates a strategy each time one is made.
_lead = st.sampled_from(["", " "])
_cut_points = st.sets(st.integers(1, 99), max_size=2)
_start = st.floats(0, 5)
_op_count = st.integers(1, 20)
_is_gap = st.integers(0, 15).map(lambda n: n == 0)
_gap_length = st.floats(0.01, 10)
_silence = st.one_of(st.just(0.0), st.floats(0, 0.3), st.floats(0, 3))
_piece_length = st.floats(0, 0.6)


@st.composite
def pieces(draw: st.DrawFn) -> list[str]:
    """One word as the model may send it: an optional leading space, cut into 1 to 3 parts."""
    word = draw(_lead) + draw(words)
    cuts = sorted(c for c in draw(_cut_points) if c < len(word))
    bounds = [0, *cuts, len(word)]
    return [word[a:b] for a, b in itertools.pairwise(bounds) if a < b]


@st.composite
def source_segments(draw: st.DrawFn, source: str) -> list[Segment]:
    segmenter = SourceSegmenter(source)
    t = draw(_start)
    out: list[Segment] = []
    for _ in range(draw(_op_count)):
        if draw(_is_gap):
            duration = draw(_gap_length)
            changes = segmenter.add_gap(t, duration, 0.0)
            t += duration
        else:
            changes = []
            t += draw(_silence)
            for text in draw(pieces()):
                end = t + draw(_piece_length)
                changes += segmenter.add_text(text, t, end, 0.0)
                t = end
        out += [seg for seg, new in changes if new]
    return out


@st.composite
def transcripts(draw: st.DrawFn) -> list[Segment]:
    """Segments of "Me" and maybe "Them", ordered by start, the sources overlapping freely."""
    segs = draw(source_segments("Me"))
    if draw(st.booleans()):
        segs += draw(source_segments("Them"))
    return sorted(segs, key=lambda s: s.start)
