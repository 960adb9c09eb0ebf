"""Subtitle cues: broadcast limits, breaks at pauses and punctuation, no overlap across sources."""
from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from app.events import Piece, Segment
from app.transcript import build_cues, segments_from_pieces
from app.transcript.cues import Cue, label_prefix
from app.transcript.segmenter import PAUSE
from app.transcript.text import Word, split_words
from tests.app.transcript.strategies import transcripts


def ms(seconds: float) -> int:
    return round(seconds * 1000)


def spoken(source: str, words: str, start: float, step: float = 0.3) -> list[Segment]:
    """Segments of ``words`` said one every ``step`` seconds."""
    pieces = [Piece(" " + w, start + i * step, start + i * step + step * 0.8)
              for i, w in enumerate(words.split())]
    return segments_from_pieces(source, pieces)


def words_of(seg: Segment) -> list[Word]:
    if seg.kind == "gap":
        return [Word(seg.text, seg.start, seg.end, False)]
    return split_words(seg.pieces)


def check_cues(segments: list[Segment], cues: list[Cue], labelled: bool) -> None:
    """Every rule a cue list must keep, checked from the segments alone."""
    for cue in cues:
        assert cue.start == ms(cue.start) / 1000 and cue.end == ms(cue.end) / 1000
        assert 1000 <= ms(cue.end) - ms(cue.start) <= 7000, cue
        assert 1 <= len(cue.lines) <= 2, cue
        for i, line in enumerate(cue.lines):
            shown = label_prefix(cue.source) + line if labelled and i == 0 else line
            assert line and line == line.strip() and len(shown) <= 42, cue
    for a, b in itertools.pairwise(cues):
        assert ms(a.end) <= ms(b.start), (a, b)
    for source in {seg.source for seg in segments}:
        check_source(segments, [cue for cue in cues if cue.source == source], source)


def check_source(segments: list[Segment], cues: list[Cue], source: str) -> None:
    """The source's cues say all its words once, in order, never before they were spoken,
    and no cue spans a pause."""
    chars = [(ch, word) for seg in segments if seg.source == source
             for word in words_of(seg) for ch in word.text if not ch.isspace()]
    pos = 0
    prev: Cue | None = None
    for cue in cues:
        if cue.resumed:  # shown again after another speaker's cue: same text as before
            assert prev is not None and cue.lines == prev.lines
            continue
        visible = [ch for line in cue.lines for ch in line if not ch.isspace()]
        got = chars[pos: pos + len(visible)]
        assert [ch for ch, _ in got] == visible
        assert ms(cue.start) >= ms(got[0][1].start)
        said = list(dict.fromkeys(word for _, word in got))  # distinct words, in order
        for a, b in itertools.pairwise(said):
            assert b.start - a.end < PAUSE
        pos += len(visible)
        prev = cue
    assert pos == len(chars)


@settings(max_examples=200, deadline=None)
@given(transcripts(), st.booleans())
def test_random_transcripts_give_cues_within_every_limit(segments, labelled):
    check_cues(segments, build_cues(segments, labelled=labelled), labelled)


def test_sentences_shorter_than_a_second_share_a_cue_and_longer_ones_do_not():
    quick = spoken("Me", "Yes. No. Maybe.", 0.0, step=0.25)
    assert [c.lines for c in build_cues(quick)] == [("Yes. No. Maybe.",)]
    slow = spoken("Me", "First sentence here. Second one there.", 0.0, step=0.4)
    assert [c.lines for c in build_cues(slow)] == [("First sentence here.",), ("Second one there.",)]


def test_a_pause_ends_a_cue_even_when_more_would_fit():
    segs = spoken("Me", "hello", 0.0) + spoken("Me", "again", 1.5)
    cues = build_cues(segs)
    assert [c.lines for c in cues] == [("hello",), ("again",)]
    assert (cues[1].start, cues[1].end) == (1.5, 2.5)  # held for the one-second minimum


def test_long_speech_is_cut_into_two_line_cues_at_clause_ends():
    text = ("We looked at the numbers for the last quarter, and they are better than expected, "
            "so the plan is to keep going with the same team for now")
    cues = build_cues(spoken("Me", text, 0.0, step=0.2))
    assert all(len(c.lines) <= 2 and max(map(len, c.lines)) <= 42 for c in cues)
    assert cues[0].lines[-1].endswith(",")
    assert " ".join(" ".join(c.lines) for c in cues) == text


def test_slow_speech_without_punctuation_gets_cues_of_at_most_seven_seconds():
    cues = build_cues(spoken("Me", " ".join(["word"] * 30), 0.0, step=1.0))
    assert len(cues) >= 5
    assert all(c.end - c.start <= 7.0 for c in cues)


def test_a_word_wider_than_a_line_is_cut_into_line_wide_parts():
    url = "https://example.com/" + "a" * 80
    cues = build_cues(spoken("Me", f"see {url} now", 0.0))
    parts = [line for c in cues for line in c.lines]
    assert "".join(parts).replace(" ", "") == f"see{url}now"
    assert all(len(line) <= 42 for line in parts)


def test_cjk_text_wraps_between_characters():
    text = "今天我们讨论一下下个季度的计划以及每个团队需要完成的具体目标和时间安排，请大家准备好自己的报告"
    pieces = [Piece(text[i:i + 2], i * 0.1, i * 0.1 + 0.2) for i in range(0, len(text), 2)]
    cues = build_cues(segments_from_pieces("Me", pieces))
    lines = [line for c in cues for line in c.lines]
    assert "".join(lines) == text and all(" " not in line for line in lines)
    assert not any(line.startswith("，") for line in lines)  # punctuation stays on its line


def test_overlapping_speakers_take_turns_and_an_interrupted_cue_comes_back():
    me = spoken("Me", "So I was thinking we should move the release to next week", 10.0)
    them = spoken("Them", "Yeah.", 11.0)
    cues = build_cues(me + them, labelled=True)
    assert [(c.source, c.resumed) for c in cues] == [("Me", False), ("Them", False), ("Me", True)]
    # "week", the 12th word, is said 13.3 to 13.54 s: the resumed cue lasts until then
    assert [(c.start, c.end) for c in cues] == [(10.0, 11.0), (11.0, 12.0), (12.0, 13.54)]
    check_cues(me + them, cues, labelled=True)


def test_speakers_starting_together_are_sequenced_a_second_apart():
    cues = build_cues(spoken("Me", "Hi there.", 5.0) + spoken("Them", "Hello!", 5.0))
    assert [(c.source, c.start) for c in cues] == [("Me", 5.0), ("Them", 6.0)]
    assert cues[0].end == 6.0


def test_gap_markers_get_their_own_cue_over_the_missing_audio():
    gap = Segment("Them", 3.0, 7.2, "[4.2 s skipped]", kind="gap")
    cues = build_cues([*spoken("Them", "before it", 2.0), gap])
    assert cues[-1].lines == ("[4.2 s skipped]",)
    assert (cues[-1].start, cues[-1].end) == (3.0, 7.2)


def test_segments_without_pieces_spread_their_text_over_their_time():
    cues = build_cues([Segment("Me", 0.0, 4.0, "plain text from elsewhere")])
    assert [(c.start, c.end, c.lines) for c in cues] == [(0.0, 4.0, ("plain text from elsewhere",))]


def test_cues_end_with_the_audio_when_its_end_is_known():
    segments = spoken("Me", "Short words here.", 1.2)  # said by 2.0 s, read until about 2.2 s
    assert build_cues(segments)[-1].end > 2.0
    cues = build_cues(segments, end=2.0)
    assert cues and max(c.end for c in cues) == 2.0 and all(c.start <= c.end for c in cues)
