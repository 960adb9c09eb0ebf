"""Caption wrapping: frozen lines never change, turns get labels, memory stays bounded."""
from __future__ import annotations

from app.ui.caption_lines import CaptionLines


def width_of(text: str) -> float:
    return float(len(text))  # one unit per character keeps the expectations readable


def test_text_fills_a_line_then_breaks_at_the_last_space():
    lines = CaptionLines(width_of, width=12)
    for piece in ["Hello", " there", " my", " friend"]:
        lines.append("mic", "", piece)
    assert [line.text for line in lines.lines] == ["Hello there", "my friend"]


def test_full_lines_are_never_rewritten_as_text_arrives():
    lines = CaptionLines(width_of, width=10)
    seen: list[str] = []
    sentence = "the quick brown fox jumps over the lazy dog again and again"
    for word in sentence.split(" "):
        lines.append("mic", "", " " + word)
        frozen = [line.text for line in lines.lines[:-1]]
        assert frozen[: len(seen)] == seen  # earlier full lines are untouched
        seen = frozen
    assert all(len(line.text) <= 10 for line in lines.lines)
    assert " ".join(line.text for line in lines.lines) == sentence


def test_append_reports_how_many_lines_it_started():
    lines = CaptionLines(width_of, width=5)
    assert lines.append("mic", "", "abc") == 1
    assert lines.append("mic", "", "d") == 0
    assert lines.append("mic", "", " efgh ijk") == 2


def test_a_word_longer_than_the_line_is_cut():
    lines = CaptionLines(width_of, width=4)
    lines.append("mic", "", "abcdefghij")
    assert [line.text for line in lines.lines] == ["abcd", "efgh", "ij"]


def test_a_new_speaker_starts_a_labelled_line():
    lines = CaptionLines(width_of, width=40)
    lines.append("mic", "Me", " hello")
    lines.append("system", "Them", " hi there")
    lines.append("system", "Them", " friend")
    assert [(line.label, line.text) for line in lines.lines] == [
        ("Me", "hello"), ("Them", "hi there friend")]
    assert lines.lines[1].prefix == "Them: "


def test_labels_count_towards_the_width():
    lines = CaptionLines(width_of, width=12)
    lines.append("mic", "Me", "aaaa bbbb")  # "Me: aaaa bbbb" is 13 wide
    assert [line.text for line in lines.lines] == ["aaaa", "bbbb"]


def test_relayout_rewraps_for_a_new_width_without_losing_text():
    lines = CaptionLines(width_of, width=8)
    lines.append("mic", "Me", "one two three four")
    lines.append("system", "Them", "five six")
    lines.relayout(40)
    assert [(line.label, line.text) for line in lines.lines] == [
        ("Me", "one two three four"), ("Them", "five six")]


def test_memory_is_bounded():
    lines = CaptionLines(width_of, width=10, keep=8)
    for i in range(1000):
        lines.append("mic", "", f" word{i}")
    assert len(lines.lines) == 8
    assert lines.lines[-1].text.endswith("word999")
    assert lines.added > 8
