"""Sessions on disk: list, reopen, rename, delete; torn journals; full disks; unwritable folders."""
from __future__ import annotations

import errno
import json
import os
import threading
from pathlib import Path

import pytest

from app.events import Gap, TextEvent
from app.transcript import (
    SessionNotFound,
    StorageError,
    create_session,
    delete_session,
    find_session,
    list_sessions,
    load_segments,
    rename_session,
    reopen_session,
    sessions,
)
from app.transcript.sessions import sessions_dir

LABELS = {"mic": "Me", "system": "Them"}  # what the pipeline would label them


def record(transcript, source: str, words: str, start: float) -> None:
    for i, word in enumerate(words.split()):
        t = start + i * 0.5
        transcript.add_event(TextEvent(source, LABELS[source], " " + word, t, t + 0.4, 1000.0 + t))


def no_space(fd: int, data: bytes) -> int:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def journal_of(session_id: str) -> Path:
    return sessions_dir() / session_id / "journal.jsonl"


def test_a_closed_session_is_listed_with_its_summary_and_reads_back():
    with create_session("Team sync") as transcript:
        record(transcript, "mic", "Hello there. How are you?", 0.0)
        record(transcript, "system", "Fine thanks.", 3.0)
        transcript.add_gap(Gap("system", 5.0, 2.5, "device-lost", "Them"))
        live = transcript.segments
    (info,) = list_sessions()
    assert (info.id, info.name, info.closed) == (transcript.session_id, "Team sync", True)
    assert info.sources == ("Me", "Them") and info.duration == pytest.approx(7.5)
    assert load_segments(info.id) == live
    assert json.loads((info.path / "meta.json").read_text())["closed"] is True


def test_sessions_are_found_by_id_or_unique_prefix(monkeypatch):
    ids = iter(["abc234", "abd567"])
    monkeypatch.setattr(sessions, "_new_id", lambda root: next(ids))
    for name in ("a", "b"):
        with create_session(name) as transcript:
            record(transcript, "mic", "words", 0.0)
    assert find_session("abc234").name == "a"
    assert find_session("abd").name == "b"
    assert find_session("ABC").name == "a"  # typed in capitals
    with pytest.raises(SessionNotFound, match="matches several sessions: abc234, abd567"):
        find_session("ab")
    for bad in ("nope", "../..", "", "a/b", ".deleted-abc"):
        with pytest.raises(SessionNotFound, match="no session"):
            find_session(bad)
    assert [i.name for i in list_sessions()] == ["b", "a"]  # newest first


def test_new_ids_are_short_and_easy_to_type():
    seen = set()
    for _ in range(20):
        with create_session() as transcript:
            record(transcript, "mic", "words", 0.0)
        seen.add(transcript.session_id)
    assert len(seen) == 20
    for session_id in seen:
        assert len(session_id) == 6 and set(session_id) <= set("23456789abcdefghjkmnpqrstuvwxyz")


def test_rename_and_delete():
    transcript = create_session()
    record(transcript, "mic", "words", 0.0)
    transcript.close()
    assert find_session(transcript.session_id).name.startswith("Session ")
    renamed = rename_session(transcript.session_id, "  Interview\nwith   Ana ")
    assert renamed.name == "Interview with Ana"
    assert find_session(transcript.session_id).name == "Interview with Ana"
    with pytest.raises(ValueError, match="empty"):
        rename_session(transcript.session_id, " \t")
    delete_session(transcript.session_id)
    assert list_sessions() == []
    with pytest.raises(SessionNotFound):
        delete_session(transcript.session_id)


def test_renaming_while_recording_survives_the_close():
    transcript = create_session("old")
    record(transcript, "mic", "still talking", 0.0)
    rename_session(transcript.session_id, "new")
    transcript.close()
    assert find_session(transcript.session_id).name == "new"


def test_reopen_restores_and_appends_after_the_end():
    transcript = create_session()
    record(transcript, "mic", "First part.", 0.0)
    transcript.close()
    again = reopen_session(transcript.session_id)
    assert [s.text for s in again.segments] == ["First part."]
    assert not find_session(transcript.session_id).closed
    record(again, "mic", "Second part.", 0.0)  # a new run's clock starts at 0 again
    again.close()
    segs = load_segments(transcript.session_id)
    assert [s.text for s in segs] == ["First part.", "Second part."]
    assert segs[1].start == pytest.approx(segs[0].end)
    assert find_session(transcript.session_id).duration == pytest.approx(segs[1].end)


def test_an_unclosed_session_with_a_torn_line_is_listed_restored_and_continued():
    transcript = create_session("crashed")
    record(transcript, "mic", "Saved words.", 0.0)
    transcript.flush()
    transcript._journal._lock.release()  # the OS drops a killed recorder's lock
    sid = transcript.session_id
    with open(journal_of(sid), "ab") as f:  # what a kill in mid-write leaves behind
        f.write(b'{"type":"text","source":"Me","text":" lo')
    (info,) = list_sessions()
    assert (info.name, info.closed, info.sources) == ("crashed", False, ("Me",))
    assert info.duration == pytest.approx(0.9)
    assert [s.text for s in load_segments(sid)] == ["Saved words."]
    again = reopen_session(sid)
    record(again, "mic", "More.", 0.0)
    again.close()
    lines = journal_of(sid).read_bytes().split(b"\n")
    assert lines[-1] == b"" and all(json.loads(line) for line in lines[:-1])  # torn part cut
    assert [s.text for s in load_segments(sid)] == ["Saved words.", "More."]


def test_damaged_lines_inside_the_journal_are_skipped():
    transcript = create_session()
    record(transcript, "mic", "one.", 0.0)
    transcript.close()
    with open(journal_of(transcript.session_id), "ab") as f:
        f.write(b"\x00\xff garbage\n")
        f.write(b'{"type":"text","source":"Me"}\n')  # JSON, but not a usable record
        f.write(b'{"type":"later","source":"Me","start":1,"wall":0}\n')  # from a newer version
        f.write(b'{"type":"text","source":"Me","text":" two.","start":1,"end":1.2,"wall":0}\n')
    assert [s.text for s in load_segments(transcript.session_id)] == ["one.", "two."]


def test_a_session_folder_without_metadata_is_still_listed():
    transcript = create_session("x")
    record(transcript, "mic", "words", 0.0)
    transcript.close()
    (sessions_dir() / transcript.session_id / "meta.json").unlink()
    (info,) = list_sessions()
    assert (info.id, info.name, info.sources) == (transcript.session_id, transcript.session_id,
                                                  ("Me",))


def test_one_unreadable_session_does_not_hide_the_others():
    broken = create_session("broken")
    record(broken, "mic", "words", 0.0)
    broken.close()
    journal = journal_of(broken.session_id)
    journal.unlink()
    journal.mkdir()  # cannot be read as a file
    (sessions_dir() / broken.session_id / "meta.json").unlink()
    fine = create_session("fine")
    record(fine, "mic", "words", 0.0)
    fine.close()
    assert sorted(i.id for i in list_sessions()) == sorted([broken.session_id, fine.session_id])
    with pytest.raises(OSError):
        load_segments(broken.session_id)


def test_the_journal_is_made_durable_within_a_second(monkeypatch):
    synced = threading.Event()
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        real_fsync(fd)
        synced.set()

    transcript = create_session()
    monkeypatch.setattr(os, "fsync", fsync)
    record(transcript, "mic", "hello", 0.0)
    assert synced.wait(2.0), "no fsync within the flush interval"
    transcript.close()


def test_full_disk_raises_a_clear_error_and_loses_nothing(monkeypatch):
    transcript = create_session()
    record(transcript, "mic", "before the disk filled.", 0.0)
    real_write = os.write
    monkeypatch.setattr(os, "write", no_space)
    with pytest.raises(StorageError, match="No space left on device.*kept in memory") as caught:
        transcript.add_event(TextEvent("mic", "Me", " while", 10.0, 10.2, 0.0))
    assert caught.value.errno == errno.ENOSPC
    with pytest.raises(StorageError):
        transcript.add_event(TextEvent("mic", "Me", " full.", 10.2, 10.4, 0.0))
    assert [s.text for s in transcript.segments] == ["before the disk filled.", "while full."]

    monkeypatch.setattr(os, "write", real_write)  # space freed: the backlog goes out first
    transcript.add_event(TextEvent("mic", "Me", " After.", 11.0, 11.2, 0.0))
    transcript.close()
    assert load_segments(transcript.session_id) == transcript.segments
    assert [s.text for s in transcript.segments] == [
        "before the disk filled.", "while full.", "After."
    ]


def test_a_failing_fsync_is_reported_on_the_next_call(monkeypatch):
    transcript = create_session()

    def broken(fd: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    record(transcript, "mic", "first", 0.0)  # the session is on disk
    monkeypatch.setattr(os, "fsync", broken)
    record(transcript, "mic", "words", 1.0)
    with pytest.raises(StorageError, match="Input/output error"):
        transcript.flush()
    assert [s.text for s in transcript.segments] == ["first words"]


def test_close_on_a_full_disk_raises_and_can_be_retried(monkeypatch):
    transcript = create_session()
    real_write = os.write
    monkeypatch.setattr(os, "write", no_space)
    with pytest.raises(StorageError):
        record(transcript, "mic", "last", 0.0)
    with pytest.raises(StorageError):
        transcript.close()
    monkeypatch.setattr(os, "write", real_write)
    transcript.close()
    assert [s.text for s in load_segments(transcript.session_id)] == ["last"]
    assert find_session(transcript.session_id).closed


def test_an_unusable_data_folder_gives_a_clear_error(data_dir: Path):
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    data_dir.write_text("a file where the folder should be")
    transcript = create_session()  # nothing is written before there is text
    with pytest.raises(StorageError, match=r"cannot create a session in .*VOXCAP_DATA_DIR"):
        record(transcript, "mic", "words", 0.0)
    assert [s.text for s in transcript.segments] == ["words"]
    assert list_sessions() == []
