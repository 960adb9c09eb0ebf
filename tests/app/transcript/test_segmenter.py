"""Segmenter: pauses and sentence ends start segments, pieces of words join, gaps are markers."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.events import Piece
from app.transcript import segments_from_pieces
from app.transcript.segmenter import SourceSegmenter
from app.transcript.text import can_break, ends_sentence, split_words
from tests.app.transcript.strategies import pieces as word_pieces


def timed(*texts: str, step: float = 0.08, start: float = 0.0) -> list[Piece]:
    """Pieces one after the other, each ``step`` seconds long."""
    return [Piece(text, start + i * step, start + (i + 1) * step) for i, text in enumerate(texts)]


def texts(pieces: list[Piece], pause: float = 1.2) -> list[str]:
    return [seg.text for seg in segments_from_pieces("Me", pieces, pause)]


def test_partial_words_join_into_words():
    assert texts(timed(" Hel", "lo", " wor", "ld", ",", " how", " are", " y", "ou")) == [
        "Hello world, how are you"
    ]


def test_sentence_ends_start_new_segments():
    got = texts(timed(" Yes", ".", " Really", "?", " Wow", "!", " Fine", "…", " OK"))
    assert got == ["Yes.", "Really?", "Wow!", "Fine…", "OK"]


def test_cjk_sentence_ends_split_without_spaces():
    assert texts(timed("你好", "。", "你是", "谁", "？", "再见", "！", "好")) == [
        "你好。", "你是谁？", "再见！", "好",
    ]


def test_decimal_points_and_closing_quotes_stay_in_their_sentence():
    got = texts(timed(" It", " is", " 3", ".", "5", " now", ".", '"', " Next"))
    assert got == ['It is 3.5 now."', "Next"]


def test_pause_starts_a_new_segment_and_is_configurable():
    # 1.25 s of silence before "two", 1.125 s before "three" (times exact in binary)
    pieces = [Piece(" one", 0.0, 0.25), Piece(" two", 1.5, 1.75), Piece(" three", 2.875, 3.0)]
    assert texts(pieces) == ["one", "two three"]
    assert texts(pieces, pause=1.125) == ["one", "two", "three"]  # a pause of exactly `pause`
    assert texts(pieces, pause=1.5) == ["one two three"]


def test_a_pause_inside_a_word_does_not_split_it():
    assert texts([Piece(" wor", 0.0, 0.2), Piece("ld", 3.0, 3.1)]) == ["world"]


def test_space_sent_on_its_own_still_separates_sentences():
    assert texts(timed(" Done", ".", " ", "Next", " one")) == ["Done.", "Next one"]


def test_a_piece_holding_a_sentence_end_is_cut_there_with_its_time_shared():
    segs = segments_from_pieces("Me", [Piece("end. Next", 10.0, 10.9)])
    assert [s.text for s in segs] == ["end.", "Next"]
    assert segs[0].start == 10.0 and segs[1].end == 10.9
    assert segs[0].end == pytest.approx(segs[1].start)
    assert segs[0].end == pytest.approx(10.4)  # "end." is 4 of the 9 characters


def test_segment_times_and_pieces():
    pieces = timed(" Hel", "lo", ".", " Bye", start=5.0)
    first, second = segments_from_pieces("Them", pieces)
    assert (first.source, first.start, first.end) == ("Them", 5.0, pytest.approx(5.24))
    assert first.pieces == pieces[:3]
    assert second.pieces == pieces[3:]
    assert [(w.text, w.start) for w in split_words(first.pieces)] == [("Hello.", 5.0)]


def test_gaps_are_markers_and_break_speech():
    seg = SourceSegmenter("Me")
    seg.add_text(" before", 0.0, 0.5, 100.0)
    (gap, new), = seg.add_gap(0.5, 4.2, 101.0)
    assert new and gap.kind == "gap" and gap.text == "[4.2 s skipped]"
    assert (gap.start, gap.end) == (0.5, pytest.approx(4.7))
    (after, new), = seg.add_text("wards", 4.7, 5.0, 102.0)
    assert new and after.text == "wards"  # no joining across missing audio


def test_back_to_back_gaps_merge_into_one_marker():
    seg = SourceSegmenter("Me")
    (gap, _), = seg.add_gap(1.0, 0.5, 0.0)
    (same, new), = seg.add_gap(1.5, 1.0, 0.0)
    assert same is gap and not new and gap.text == "[1.5 s skipped]"
    (other, new), = seg.add_gap(9.0, 0.04, 0.0)
    assert new and other.text == "[0.1 s skipped]"


@settings(max_examples=300, deadline=None)
@given(st.lists(word_pieces(), min_size=1, max_size=30), st.floats(0.1, 3), st.data())
def test_segments_keep_every_piece_and_split_exactly_at_pauses_and_sentence_ends(
    words, pause, data
):
    texts_in = [text for word in words for text in word]
    pieces, t = [], 0.0
    for text in texts_in:
        t += data.draw(st.sampled_from([0.0, 0.2, pause - 0.01, pause, 2 * pause]))
        pieces.append(Piece(text, t, t + 0.1))
        t += 0.1
    segs = segments_from_pieces("Me", pieces, pause)

    first = next((i for i, text in enumerate(texts_in) if text.strip()), len(texts_in))
    raws = ["".join(p.text for p in seg.pieces) for seg in segs]
    assert "".join(raws) == "".join(texts_in[first:])  # whitespace alone never opens one
    for seg, raw in zip(segs, raws):
        assert seg.text == raw.strip() and seg.text
        assert seg.start == seg.pieces[0].start and seg.end == max(p.end for p in seg.pieces)
        raw_so_far = ""
        for before, piece in zip(seg.pieces, seg.pieces[1:]):
            raw_so_far += before.text
            if piece.text.strip() and can_break(raw_so_far, piece.text):
                assert piece.start - before.end < pause and not ends_sentence(raw_so_far)
    for prev, nxt, prev_raw, next_raw in zip(segs, segs[1:], raws, raws[1:]):
        assert can_break(prev_raw, next_raw)  # never inside a word
        assert nxt.start - prev.end >= pause or ends_sentence(prev_raw)
