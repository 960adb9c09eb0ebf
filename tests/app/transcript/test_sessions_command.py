"""``voxcap sessions``: list, show, export, rename, delete; exit codes and one-line errors."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import srt

from app.cli import main
from app.events import TextEvent
from app.transcript import create_session, find_session, list_sessions


def voxcap(*argv: str) -> int:
    return main(list(argv))


@pytest.fixture
def meeting() -> str:
    with create_session("Weekly sync") as transcript:
        for i, word in enumerate(["Hello", "everyone.", "Shall", "we", "start?"]):
            transcript.add_event(TextEvent("mic", "Me", " " + word, i * 0.5, i * 0.5 + 0.4, 0.0))
        transcript.add_event(TextEvent("system", "Them", " Yes.", 3.0, 3.4, 0.0))
    return transcript.session_id


def test_list_without_sessions_says_where_they_would_be(capsys, data_dir):
    assert voxcap("sessions", "list") == 0
    assert f"no sessions yet (they are kept in {data_dir / 'sessions'})" in capsys.readouterr().out


def test_list_shows_id_name_start_duration_and_sources(capsys, meeting):
    assert voxcap("sessions", "list") == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == ["ID", "NAME", "STARTED", "DURATION", "SOURCES"]
    sid, name, started, duration, sources = re.split(r"\s{2,}", row)
    assert (sid, name, duration, sources) == (meeting, "Weekly sync", "0:00:03", "Me, Them")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", started)


def test_show_prints_details_and_the_timed_transcript(capsys, meeting):
    assert voxcap("sessions", "show", meeting[:-1]) == 0  # a unique prefix is enough
    out = capsys.readouterr().out
    assert f"id:       {meeting}\n" in out and "state:    closed\n" in out
    assert out.endswith(
        "[00:00:00] Me: Hello everyone.\n[00:00:01] Me: Shall we start?\n[00:00:03] Them: Yes.\n"
    )


def test_export_to_stdout_and_to_a_file_named_for_its_format(capsys, meeting, tmp_path):
    assert voxcap("sessions", "export", meeting, "--format", "json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["title"] == "Weekly sync" and len(doc["segments"]) == 3

    out = tmp_path / "sync.srt"
    assert voxcap("sessions", "export", meeting, "-o", str(out)) == 0
    subs = list(srt.parse(out.read_text(encoding="utf-8")))
    assert subs[0].content.startswith("Me: Hello everyone.")
    assert "Wrote" in capsys.readouterr().err

    assert voxcap("sessions", "export", meeting, "--no-timestamps", "--no-labels") == 0
    assert capsys.readouterr().out == "Hello everyone.\nShall we start?\nYes.\n"


def test_export_refuses_a_suffix_it_cannot_read_and_an_unwritable_path(capsys, meeting, tmp_path):
    assert voxcap("sessions", "export", meeting, "-o", str(tmp_path / "notes.docx")) == 2
    assert ".srt, .vtt" in capsys.readouterr().err
    blocked = tmp_path / "missing-folder" / "notes.txt"
    assert voxcap("sessions", "export", meeting, "-o", str(blocked)) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write" in err and "No such file" in err


def test_a_bad_id_is_a_one_line_error_with_exit_code_2(capsys, meeting):
    for action in (["show"], ["export"], ["delete"], ["rename"]):
        argv = ["sessions", *action, "no-such-id"] + (["name"] if action == ["rename"] else [])
        assert voxcap(*argv) == 2
        err = capsys.readouterr().err
        assert err == "voxcap sessions: no session 'no-such-id'; `voxcap sessions list` shows the ids\n"
    assert len(list_sessions()) == 1


def test_rename_and_delete(capsys, meeting):
    assert voxcap("sessions", "rename", meeting, "Sprint review") == 0
    assert find_session(meeting).name == "Sprint review"
    assert voxcap("sessions", "rename", meeting, "   ") == 2
    assert "cannot be empty" in capsys.readouterr().err
    assert voxcap("sessions", "delete", meeting) == 0
    assert f"Deleted {meeting} (Sprint review)." in capsys.readouterr().err
    assert list_sessions() == []


def test_missing_action_is_a_usage_error():
    with pytest.raises(SystemExit) as exited:
        voxcap("sessions")
    assert exited.value.code == 2


def test_an_unreadable_sessions_folder_fails_with_exit_code_1(capsys, data_dir: Path, meeting):
    (data_dir / "sessions" / meeting / "journal.jsonl").unlink()
    (data_dir / "sessions" / meeting / "journal.jsonl").mkdir()  # cannot be read as a file
    assert voxcap("sessions", "export", meeting) == 1
    err = capsys.readouterr().err
    assert err.startswith("voxcap sessions: ") and err.count("\n") == 1
