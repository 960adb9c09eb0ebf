"""The live Transcript: order across sources, change notices a view can mirror, thread safety."""
from __future__ import annotations

import itertools
import threading

import pytest

from app.events import Gap, Segment, TextEvent
from app.transcript import SegmentChange, Transcript

LABELS = {"mic": "Me", "system": "Them"}  # what the pipeline would label them


def said(source: str, text: str, start: float, step: float = 0.1) -> list[TextEvent]:
    """``text`` cut into pieces of 3 characters, one every ``step`` seconds."""
    parts = [text[i:i + 3] for i in range(0, len(text), 3)]
    label = LABELS.get(source, source)
    return [TextEvent(source, label, p, start + i * step, start + (i + 1) * step, 1000.0 + i)
            for i, p in enumerate(parts)]


class Mirror:
    """What a list view does with the change notices: insert on add, replace on change."""

    def __init__(self) -> None:
        self.rows: list[Segment] = []
        self.lock = threading.Lock()

    def __call__(self, change: SegmentChange) -> None:
        with self.lock:
            if change.added:
                self.rows.insert(change.index, change.segment)
            else:
                self.rows[change.index] = change.segment


def test_sources_get_labels_and_segments_are_ordered_by_start():
    transcript = Transcript()
    for event in said("system", " Late news. More.", 5.0):
        transcript.add_event(event)
    for event in said("mic", " Early words. Then some.", 1.0):  # arrives later, starts earlier
        transcript.add_event(event)
    segs = transcript.segments
    assert [(s.source, s.text) for s in segs] == [
        ("Me", "Early words."), ("Me", "Then some."), ("Them", "Late news."), ("Them", "More."),
    ]
    assert segs[0].wall_start == 1000.0 and segs[0].wall_end > segs[0].wall_start


def test_segments_carry_the_label_their_events_carry():
    transcript = Transcript()
    transcript.add_event(TextEvent("mic", "Ana", " hi", 0.0, 0.1, 0.0))
    transcript.add_event(TextEvent("talk.wav", "talk.wav", " yo", 0.5, 0.6, 0.0))
    assert [s.source for s in transcript.segments] == ["Ana", "talk.wav"]


def test_change_notices_let_a_view_mirror_the_transcript_exactly():
    transcript = Transcript()
    mirror = Mirror()
    transcript.subscribe(mirror)
    events = said("mic", " One thing. Two things? Three!", 10.0) + said("system", " Sure. Yes.", 9.0)
    events += said("mic", " Later on", 30.0) + said("system", " and before", 8.0)
    for event in events:
        transcript.add_event(event)
    transcript.add_gap(Gap("system", 12.0, 2.0, "overflow", "Them"))
    transcript.add_gap(Gap("system", 14.0, 1.0, "overflow", "Them"))  # grows the same marker
    assert mirror.rows == transcript.segments
    assert "[3.0 s skipped]" in [s.text for s in mirror.rows]


def test_notices_carry_copies_that_later_text_does_not_change():
    transcript = Transcript()
    seen: list[SegmentChange] = []
    transcript.subscribe(seen.append)
    transcript.add_event(TextEvent("mic", "Me", " Hel", 0.0, 0.1, 0.0))
    transcript.add_event(TextEvent("mic", "Me", "lo", 0.1, 0.2, 0.0))
    assert [(c.added, c.segment.text, len(c.segment.pieces)) for c in seen] == [
        (True, "Hel", 1), (False, "Hello", 2)
    ]


def test_a_failing_listener_does_not_stop_recording_or_other_listeners():
    transcript = Transcript()
    mirror = Mirror()

    def broken(change: SegmentChange) -> None:
        raise RuntimeError("view bug")

    transcript.subscribe(broken)
    transcript.subscribe(mirror)
    for event in said("mic", " still recorded.", 0.0):
        transcript.add_event(event)
    assert [s.text for s in transcript.segments] == ["still recorded."]
    assert mirror.rows == transcript.segments


def test_unsubscribe_stops_notices():
    transcript = Transcript()
    seen: list[SegmentChange] = []
    unsubscribe = transcript.subscribe(seen.append)
    transcript.add_event(TextEvent("mic", "Me", " a", 0.0, 0.1, 0.0))
    unsubscribe()
    transcript.add_event(TextEvent("mic", "Me", " b", 0.1, 0.2, 0.0))
    assert len(seen) == 1


def test_worker_thread_writes_while_another_thread_reads():
    transcript = Transcript()
    mirror = Mirror()
    transcript.subscribe(mirror)
    events = {src: said(src, " word." * 400, 0.0, step=0.05) for src in ("mic", "system")}
    reads: list[int] = []
    done = threading.Event()

    def write(source: str) -> None:
        for event in events[source]:
            transcript.add_event(event)

    unordered: list[list[Segment]] = []

    def read() -> None:
        while not done.is_set():
            segs = transcript.segments
            if any(a.start > b.start for a, b in itertools.pairwise(segs)):
                unordered.append(segs)
            reads.append(len(segs))

    writers = [threading.Thread(target=write, args=(src,)) for src in events]
    reader = threading.Thread(target=read)
    reader.start()
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    done.set()
    reader.join()
    assert len(transcript.segments) == 800 and mirror.rows == transcript.segments
    assert not unordered
    assert reads and reads == sorted(reads)  # the reader only ever saw the list grow


def test_resume_places_a_restarted_clock_after_what_was_recorded():
    transcript = Transcript()
    transcript.add_event(TextEvent("mic", "Me", " before", 0.0, 4.0, 0.0))
    transcript.resume()
    transcript.add_event(TextEvent("mic", "Me", " after", 0.0, 1.0, 0.0))  # the clock began again
    segs = transcript.segments
    assert [(s.text, s.start, s.end) for s in segs] == [("before", 0.0, 4.0), ("after", 4.0, 5.0)]


def test_closed_transcript_refuses_events_but_still_reads():
    transcript = Transcript()
    transcript.add_event(TextEvent("mic", "Me", " kept", 0.0, 0.1, 0.0))
    transcript.close()
    with pytest.raises(RuntimeError, match="closed"):
        transcript.add_event(TextEvent("mic", "Me", " late", 0.2, 0.3, 0.0))
    assert [s.text for s in transcript.segments] == ["kept"]
    transcript.close()  # twice is fine
