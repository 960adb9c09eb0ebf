"""The transcript store under faults: atomic exports, locked sessions, atomic deletes, damaged
journals and summaries, failed or silent starts, and what `sessions list` shows."""
from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path

import pytest

from app import atomic
from app.cli import main
from app.events import Gap, TextEvent
from app.transcript import (
    SessionBusy,
    SessionFormatError,
    create_session,
    delete_session,
    export,
    list_sessions,
    load_segments,
    read_session,
    reopen_session,
    sessions,
)
from app.transcript.sessions import sessions_dir


def record(transcript, source: str, words: str, start: float) -> None:
    for i, word in enumerate(words.split()):
        t = start + i * 0.5
        transcript.add_event(TextEvent(source, source, " " + word, t, t + 0.4, time.time()))


def saved(name: str = "s", words: str = "Hello there.") -> str:
    with create_session(name) as transcript:
        record(transcript, "mic", words, 0.0)
    return transcript.session_id


def no_space(*args: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


# -- exports are atomic ---------------------------------------------------------------------------

def test_a_failed_export_leaves_the_earlier_file_whole(tmp_path, monkeypatch, capsys):
    sid = saved()
    out = tmp_path / "exports" / "notes.txt"
    out.parent.mkdir()
    out.write_text("the good copy\n", encoding="utf-8")
    monkeypatch.setattr(atomic.os, "fsync", no_space)
    assert main(["sessions", "export", sid, "-o", str(out)]) == 1
    assert out.read_text(encoding="utf-8") == "the good copy\n"
    assert sorted(p.name for p in out.parent.iterdir()) == ["notes.txt"]  # no temporary left
    assert "No space left on device" in capsys.readouterr().err


def test_write_atomic_keeps_permissions_and_replaces(tmp_path):
    target = tmp_path / "a.srt"
    target.write_text("old")
    target.chmod(0o600)
    atomic.write_atomic(target, "new ✓")
    assert target.read_text(encoding="utf-8") == "new ✓"
    assert target.stat().st_mode & 0o777 == 0o600


def test_write_atomic_writes_chunks_as_they_come_and_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / "long.json"
    target.write_text("old")
    chunks = [f"{i:06d} ✓\n" for i in range(20_000)]  # ~200 KB: several 64 KiB writes
    atomic.write_atomic(target, iter(chunks))
    assert target.read_text(encoding="utf-8") == "".join(chunks)

    def breaks_halfway():
        yield from chunks[:10_000]
        raise RuntimeError("the exporter failed")

    with pytest.raises(RuntimeError, match="exporter failed"):
        atomic.write_atomic(target, breaks_halfway())
    assert target.read_text(encoding="utf-8") == "".join(chunks)  # the earlier file, whole
    assert [p.name for p in tmp_path.iterdir()] == ["long.json"]  # no temporary file left


# -- a session being written is locked --------------------------------------------------------------

def test_a_session_being_recorded_cannot_be_deleted_or_written_twice():
    transcript = create_session("live")
    record(transcript, "mic", "still talking", 0.0)
    sid = transcript.session_id
    with pytest.raises(SessionBusy, match="being recorded right now"):
        delete_session(sid)
    with pytest.raises(SessionBusy, match="cannot continue"):
        reopen_session(sid)
    (info,) = list_sessions()
    assert info.recording
    record(transcript, "mic", "and on", 2.0)
    transcript.close()
    assert [s.text for s in load_segments(sid)] == ["still talking and on"]
    again = reopen_session(sid)  # free once closed
    again.close()
    delete_session(sid)
    assert list_sessions() == []


def test_the_delete_command_refuses_a_recorded_session(capsys):
    transcript = create_session("live")
    record(transcript, "mic", "words", 0.0)
    assert main(["sessions", "delete", transcript.session_id]) == 1
    assert "being recorded right now" in capsys.readouterr().err
    transcript.close()
    assert main(["sessions", "delete", transcript.session_id]) == 0


def test_a_delete_killed_midway_neither_half_deletes_nor_comes_back(monkeypatch):
    keep, gone = saved("keep"), saved("gone")

    def killed(path, ignore_errors=False):
        raise KeyboardInterrupt  # the process dies after the rename

    real_rmtree = sessions.shutil.rmtree
    monkeypatch.setattr(sessions.shutil, "rmtree", killed)
    with pytest.raises(KeyboardInterrupt):
        delete_session(gone)
    monkeypatch.setattr(sessions.shutil, "rmtree", real_rmtree)
    assert [i.id for i in list_sessions()] == [keep]
    assert not any(p.name.startswith(".") for p in sessions_dir().iterdir())  # swept


# -- damaged journals and summaries ----------------------------------------------------------------

def test_one_bad_summary_does_not_break_the_listing(capsys):
    good = saved("good")
    for value in ("1e999", "NaN", "-Infinity"):
        bad = saved(f"bad {value}")
        meta = sessions_dir() / bad / "meta.json"
        text = meta.read_text(encoding="utf-8")
        data = json.loads(text)
        text = text.replace(f'"duration": {data["duration"]}', f'"duration": {value}')
        text = text.replace(f'"created": {data["created"]}', '"created": 1e300')
        meta.write_text(text, encoding="utf-8")
    assert main(["sessions", "list"]) == 0
    out = capsys.readouterr().out
    assert good in out and out.count("0:00:01") == 4  # summaries rebuilt from the journals


def test_damaged_records_are_skipped_and_counted(capsys):
    sid = saved(words="Kept words.")
    with open(sessions_dir() / sid / "journal.jsonl", "ab") as f:
        f.writelines(bad + b"\n" for bad in (
            b'{"type":"text","source":"Me","text":" x","start":1e999,"end":2,"wall":0}',
            b'{"type":"text","source":"Me","text":" x","start":NaN,"end":2,"wall":0}',
            b'{"type":"text","source":"Me","text":" x","start":1,"end":2,"wall":1e300}',
            b"[" * 100_000,
            b'{"type":"text","source":"Me","text":"' + b"a" * 50_000 + b'","start":1,"end":2,'
            b'"wall":0}',
        ))
        f.write(b'{"type":"text","source":"Me","text":" Later.","start":5,"end":5.4,"wall":0}\n')
    session = read_session(sid)
    assert session.skipped == 5
    assert [s.text for s in session.segments] == ["Kept words.", "Later."]
    for fmt in ("txt", "srt", "vtt", "json", "md"):
        assert "Later." in export(session.segments, fmt)
    assert main(["sessions", "export", sid, "-f", "srt"]) == 0
    assert "skipped 5 damaged records" in capsys.readouterr().err


def test_a_newer_format_is_named_as_such(capsys):
    newer, fine = saved("newer"), saved("fine")
    meta = sessions_dir() / newer / "meta.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "version": 7}))
    assert {i.id for i in list_sessions()} == {newer, fine}
    with pytest.raises(SessionFormatError, match="newer version of voxcap .format 7"):
        load_segments(newer)
    with pytest.raises(SessionFormatError):
        reopen_session(newer)
    assert main(["sessions", "show", newer]) == 1
    assert "format 7" in capsys.readouterr().err


# -- no empty sessions ------------------------------------------------------------------------------

def test_a_session_is_kept_only_once_it_has_text(data_dir: Path):
    silent = create_session()
    silent.close()
    gaps_only = create_session()
    gaps_only.add_gap(Gap("mic", 0.0, 3.0, "device-lost", "mic"))
    gaps_only.close()
    assert list_sessions() == []
    assert not any((data_dir / "sessions").glob("*/*")) if (data_dir / "sessions").exists() else True
    spoken = create_session()
    spoken.add_gap(Gap("mic", 0.0, 1.0, "device-lost", "mic"))  # waits in memory for the first text
    record(spoken, "mic", "Now.", 1.5)
    spoken.close()
    assert [s.kind for s in load_segments(spoken.session_id)] == ["gap", "speech"]


def test_a_full_disk_at_the_first_text_leaves_no_empty_session(monkeypatch):
    transcript = create_session()
    real_write = os.write
    monkeypatch.setattr(os, "write", no_space)
    with pytest.raises(OSError, match="No space left"):
        record(transcript, "mic", "words", 0.0)
    assert list_sessions() == []
    monkeypatch.setattr(os, "write", real_write)
    transcript.close()  # space is back: the session is saved at the close
    assert [s.text for s in load_segments(transcript.session_id)] == ["words"]


def test_captions_only_keeps_nothing(data_dir: Path):
    transcript = create_session(keep=False)
    record(transcript, "mic", "Private words.", 0.0)
    transcript.close()
    assert transcript.segments and list_sessions() == []
    assert not (data_dir / "sessions").exists()


# -- what `sessions list` shows ----------------------------------------------------------------------

def test_duration_is_the_recording_length_not_the_last_word(monkeypatch, capsys):
    clock = [1000.0]
    monkeypatch.setattr(sessions.time, "monotonic", lambda: clock[0])
    transcript = create_session("ten minutes")
    record(transcript, "mic", "early words", 10.0)  # then silence
    clock[0] += 600.0
    transcript.close()
    assert main(["sessions", "list"]) == 0
    assert "0:10:00" in capsys.readouterr().out


def test_help_says_how_ids_are_typed(capsys):
    with pytest.raises(SystemExit):
        main(["sessions", "--help"])
    assert "any prefix" in capsys.readouterr().out


# -- export stays linear in the transcript's size -----------------------------------------------------

def test_no_segment_grows_without_bound():
    from app.events import Piece
    from app.transcript.segmenter import MAX_SEGMENT_CHARS, segments_from_pieces

    words = [Piece(" ab", i * 0.01, i * 0.01 + 0.01) for i in range(3000)]  # never a pause
    endless = [Piece("ab", i * 0.01, i * 0.01 + 0.01) for i in range(3000)]  # one "word"
    for pieces in (words, endless):
        segments = segments_from_pieces("Me", pieces)
        assert len(segments) > 1
        assert max(len(s.text) for s in segments) <= 2 * MAX_SEGMENT_CHARS + 3
        assert "".join(s.text for s in segments).replace(" ", "") == "ab" * 3000


def test_a_long_word_splits_into_words_in_one_pass():
    from app.events import Piece
    from app.transcript.text import split_words

    (word,) = split_words([Piece("x" * 200_000, 0.0, 10.0)])
    assert len(word.text) == 200_000 and word.end == pytest.approx(10.0)
