"""Exports, read back by each format's own parsers: srt, webvtt-py, ffmpeg, json, markdown-it."""
from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
import srt
import webvtt
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from app.events import Piece, Segment
from app.transcript import (
    FORMATS,
    build_cues,
    export,
    export_chunks,
    format_for_path,
    segments_from_pieces,
)
from app.transcript.cues import label_prefix
from app.transcript.text import one_line
from tests.app.transcript.strategies import ANY_CHAR, transcripts


def meeting() -> list[Segment]:
    me = segments_from_pieces("Me", [
        Piece(" Hel", 1.0, 1.1), Piece("lo", 1.1, 1.2), Piece(" there", 1.2, 1.5),
        Piece(".", 1.5, 1.6), Piece(" Ready", 2.0, 2.3), Piece("?", 2.3, 2.4),
    ])
    them = segments_from_pieces("Them", [Piece(" Almost", 3.0, 3.4), Piece(".", 3.4, 3.5)])
    gap = Segment("Them", 62.0, 66.2, "[4.2 s skipped]", wall_start=1.0, wall_end=1.0, kind="gap")
    return [*me, *them, gap]


def as_ms(clock: str) -> int:
    h, m, s = clock.replace(",", ".").split(":")
    return round((int(h) * 3600 + int(m) * 60 + float(s)) * 1000)


def test_formats_are_the_five_the_cli_and_gui_offer():
    assert list(FORMATS) == ["txt", "srt", "vtt", "json", "md"]
    assert format_for_path("notes.SRT") == "srt" and format_for_path("a/b.json") == "json"
    assert format_for_path("notes.docx") is None and format_for_path("notes") is None
    with pytest.raises(ValueError, match="unknown export format 'doc'; choose one of txt, srt"):
        export(meeting(), "doc")


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_a_long_transcript_is_exported_in_small_chunks(fmt):
    # An hour of one speaker, a sentence every 4 s (a new Markdown paragraph after each pause):
    # no chunk may be more than a few sentences, so a long export is never held whole.
    pieces = []
    for n in range(900):
        t = n * 4.0
        pieces += [Piece(f" Sentence {n}", t, t + 0.8), Piece(" ends here.", t + 0.8, t + 1.5)]
    segments = segments_from_pieces("Me", pieces)
    chunks = list(export_chunks(segments, fmt))
    whole = "".join(chunks)
    assert whole == export(segments, fmt)
    assert len(whole) > 20_000 and len(chunks) >= 900
    assert max(len(c) for c in chunks) < 1_000
    with pytest.raises(ValueError, match="unknown export format"):
        export_chunks(segments, "doc")  # refused at once, not at the first chunk


def test_plain_text_with_and_without_timestamps_and_labels():
    segs = meeting()
    assert export(segs, "txt") == (
        "[00:00:01] Me: Hello there.\n"
        "[00:00:02] Me: Ready?\n"
        "[00:00:03] Them: Almost.\n"
        "[00:01:02] Them: [4.2 s skipped]\n"
    )
    assert export(segs, "txt", timestamps=False, labels=False) == (
        "Hello there.\nReady?\nAlmost.\n[4.2 s skipped]\n"
    )
    one_source = [s for s in segs if s.source == "Me"]
    assert export(one_source, "txt", timestamps=False) == "Hello there.\nReady?\n"


def test_markdown_groups_a_speakers_sentences_into_paragraphs():
    assert export(meeting(), "md", title="Weekly *sync*") == (
        "# Weekly \\*sync\\*\n\n"
        "**Me** (00:00:01): Hello there. Ready?\n\n"
        "**Them** (00:00:03): Almost.\n\n"
        "**Them** (00:01:02): *\\[4.2 s skipped\\]*\n\n"
    )


def test_json_holds_every_segment_piece_and_word_time():
    segs = meeting()
    doc = json.loads(export(segs, "json", title="Weekly"))
    assert doc["format"] == "voxcap-transcript" and doc["title"] == "Weekly"
    assert [s["text"] for s in doc["segments"]] == [s.text for s in segs]
    first = doc["segments"][0]
    assert first["source"] == "Me" and first["kind"] == "speech"
    assert (first["start"], first["end"]) == (1.0, 1.6)
    assert first["pieces"] == [
        {"text": " Hel", "start": 1.0, "end": 1.1}, {"text": "lo", "start": 1.1, "end": 1.2},
        {"text": " there", "start": 1.2, "end": 1.5}, {"text": ".", "start": 1.5, "end": 1.6},
    ]
    assert first["words"] == [
        {"text": "Hello", "start": 1.0, "end": 1.2}, {"text": "there.", "start": 1.2, "end": 1.6}
    ]
    gap = doc["segments"][-1]
    assert gap["kind"] == "gap" and gap["pieces"] == [] and gap["wall_start"] == 1.0


def test_subtitles_of_a_meeting_label_speakers():
    segs = meeting()
    subs = list(srt.parse(export(segs, "srt")))
    assert [s.content for s in subs] == [
        "Me: Hello there. Ready?", "Them: Almost.", "Them: [4.2 s skipped]"
    ]
    assert subs[0].start == timedelta(seconds=1) and subs[2].end == timedelta(seconds=66.2)
    captions = webvtt.from_string(export(segs, "vtt"), strict=True)
    assert [(c.voice, c.text) for c in captions] == [
        ("Me", "Hello there. Ready?"), ("Them", "Almost."), ("Them", "[4.2 s skipped]")
    ]
    assert "<v " not in export([s for s in segs if s.source == "Me"], "vtt")


@settings(max_examples=100, deadline=None)
@given(transcripts())
def test_srt_and_webvtt_parsers_read_back_every_cue(segments):
    labelled = len({s.source for s in segments}) > 1
    cues = build_cues(segments, labelled=labelled)

    subs = list(srt.parse(export(segments, "srt")))
    assert len(subs) == len(cues)
    for sub, cue in zip(subs, cues):
        lines = list(cue.lines)
        if labelled:
            lines[0] = label_prefix(cue.source) + lines[0]
        assert sub.content == "\n".join(lines)
        assert sub.start == timedelta(seconds=cue.start) and sub.end == timedelta(seconds=cue.end)

    cues = build_cues(segments)  # voice tags take no room on the line
    captions = webvtt.from_string(export(segments, "vtt"), strict=True)
    assert len(captions) == len(cues)
    for caption, cue in zip(captions, cues):
        assert html.unescape(caption.text) == "\n".join(cue.lines)
        assert as_ms(caption.start) == round(cue.start * 1000)
        assert as_ms(caption.end) == round(cue.end * 1000)
        assert caption.voice == (cue.source if labelled else None)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
@settings(max_examples=10, deadline=None)
@given(transcripts())
def test_ffmpeg_converts_srt_and_webvtt_to_ass(segments):
    labelled = len({s.source for s in segments}) > 1
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, cues in (("srt", build_cues(segments, labelled=labelled)),
                          ("vtt", build_cues(segments))):
            source, target = Path(tmp, f"out.{fmt}"), Path(tmp, f"out-{fmt}.ass")
            source.write_text(export(segments, fmt), encoding="utf-8")
            done = subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(source), str(target)],
                                  capture_output=True, text=True, timeout=60, check=False)
            assert done.returncode == 0 and not done.stderr, done.stderr
            events = re.findall(r"^Dialogue: \d+,([\d:.]+),([\d:.]+),",
                                target.read_text(encoding="utf-8"), re.MULTILINE)
            assert len(events) == len(cues)
            for (start, end), cue in zip(events, cues):  # ASS keeps centiseconds
                assert abs(as_ms(start) - cue.start * 1000) <= 10
                assert abs(as_ms(end) - cue.end * 1000) <= 10


def rendered_text(markdown: str) -> str:
    page = MarkdownIt("commonmark").render(markdown)
    return html.unescape(re.sub(r"<[^>]+>", "", page)).strip()


@settings(max_examples=200, deadline=None)
@given(st.text(ANY_CHAR, min_size=1, max_size=40))
def test_markdown_shows_any_text_literally(text):
    assume(one_line(text))
    segs = [Segment("Me", 0.0, 1.0, text)]
    assert rendered_text(export(segs, "md", labels=False, timestamps=False)) == one_line(text)
    labelled = rendered_text(export(segs, "md", labels=True))
    assert labelled == f"Me (00:00:00): {one_line(text)}"
