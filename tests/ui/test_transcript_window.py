"""The transcript window: live rows batched and capped, search, copy, export, past sessions."""
from __future__ import annotations

import json
import time

import pytest
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from app.events import TextEvent
from app.transcript import create_session, list_sessions
from app.ui.actions import AppActions
from app.ui.transcript_window import TranscriptWindow

LABELS = {"mic": "Me", "system": "Them"}  # what the pipeline would label them


def say(transcript, source: str, sentence: str, start: float) -> float:
    """Feed a sentence word by word, as the pipeline does; returns its end time."""
    t = start
    for word in sentence.split(" "):
        transcript.add_event(TextEvent(source, LABELS[source], " " + word, t, t + 0.24,
                                       time.time()))
        t += 0.32
    return t


@pytest.fixture
def window(qtbot):
    w = TranscriptWindow(AppActions())
    qtbot.addWidget(w)
    w.show()
    return w


@pytest.fixture
def session():
    transcript = create_session("Standup")
    yield transcript
    transcript.close()


def fill(transcript) -> None:
    t = say(transcript, "mic", "Good morning everyone.", 0.0)
    t = say(transcript, "system", "Morning, shall we start?", t + 0.5)
    say(transcript, "mic", "Yes, the release is ready.", t + 0.5)


def test_live_rows_arrive_in_batches_with_time_and_source(qtbot, window, session):
    window.show_live(session)
    fill(session)
    assert window.model.rowCount() == 0  # nothing yet: changes wait for the timer
    qtbot.waitUntil(lambda: window.model.rowCount() == 3, timeout=3000)
    rows = [[window.model.index(r, c).data() for c in range(3)] for r in range(3)]
    assert rows[0] == ["0:00:00", "Me", "Good morning everyone."]
    assert rows[1][1:] == ["Them", "Morning, shall we start?"]
    assert rows[2][1:] == ["Me", "Yes, the release is ready."]


def test_rows_are_capped_but_exports_keep_everything(qtbot, window, session, tmp_path):
    window.model.max_rows = 2
    window.show_live(session)
    fill(session)
    qtbot.waitUntil(lambda: "ready" in (window.model.index(1, 2).data() or ""), timeout=3000)
    assert window.model.rowCount() == 2
    assert window.export_to(tmp_path / "all.txt", "txt")
    text = (tmp_path / "all.txt").read_text(encoding="utf-8")
    assert "Good morning everyone." in text and "the release is ready." in text


def test_search_filters_rows(qtbot, window, session):
    window.show_live(session)
    fill(session)
    qtbot.waitUntil(lambda: window.model.rowCount() == 3, timeout=3000)
    qtbot.keyClicks(window.search, "RELEASE")
    assert window.proxy.rowCount() == 1
    assert "release" in window.proxy.index(0, 2).data()
    window.search.clear()
    assert window.proxy.rowCount() == 3


def test_copy_takes_the_selection_or_everything(qtbot, window, session):
    window.show_live(session)
    fill(session)
    qtbot.waitUntil(lambda: window.model.rowCount() == 3, timeout=3000)
    window.copy_selection()
    assert QApplication.clipboard().text().count("\n") == 3
    window.table.selectRow(1)
    window.copy_selection()
    copied = QApplication.clipboard().text()
    assert "shall we start?" in copied and "morning everyone" not in copied


@pytest.mark.parametrize("fmt", ["txt", "srt", "vtt", "json", "md"])
def test_export_writes_each_format(qtbot, window, session, tmp_path, fmt):
    window.show_live(session)
    fill(session)
    path = tmp_path / f"standup.{fmt}"
    assert window.export_to(path, fmt)
    text = path.read_text(encoding="utf-8")
    checks = {
        "txt": lambda: "Them: Morning, shall we start?" in text,
        "srt": lambda: text.startswith("1\n") and " --> " in text and "," in text.split("\n")[1],
        "vtt": lambda: text.startswith("WEBVTT") and "<v Them>" in text,
        "json": lambda: "release is ready" in json.dumps(json.loads(text)),
        "md": lambda: "Standup" in text.splitlines()[0] and "Good morning everyone." in text,
    }
    assert checks[fmt]()


def test_export_from_the_menu_asks_for_a_file_and_adds_the_suffix(qtbot, window, session,
                                                                  tmp_path, monkeypatch):
    window.show_live(session)
    fill(session)
    target = tmp_path / "notes"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(target), "WebVTT subtitles (*.vtt)"))
    vtt = next(a for a in window.export_menu.actions() if ".vtt" in a.text())
    vtt.trigger()
    assert (tmp_path / "notes.vtt").read_text(encoding="utf-8").startswith("WEBVTT")


def test_export_failure_is_explained(qtbot, window, session, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a: shown.append(a[2]))
    window.show_live(session)
    assert not window.export_to(tmp_path / "missing" / "x.txt", "txt")
    assert "Could not write" in shown[0] and "Choose another folder" in shown[0]


def test_past_sessions_open_rename_and_delete(qtbot, window, monkeypatch):
    old = create_session("Monday")
    say(old, "system", "Last week's notes.", 0.0)
    old.close()
    live = create_session("Today")
    say(live, "mic", "Hello.", 0.0)  # a session is kept once it has text
    window.show_live(live)
    items = [window.sessions.list.item(i).text() for i in range(window.sessions.list.count())]
    assert items[0].startswith("Live transcript") and items[1].startswith("Monday")

    window.sessions.list.setCurrentRow(1)
    window.sessions.open_button.click()
    assert window.model.rowCount() == 1
    assert window.banner.text() == "Past session: Monday"
    assert window.back_button.isVisible()

    asked: list[str] = []
    monkeypatch.setattr(type(window.sessions), "ask_name",
                        lambda panel, name: asked.append(name) or "Monday review")
    window.sessions.rename_button.click()
    assert asked == ["Monday"]  # the field starts with the name it has
    assert [s.name for s in list_sessions() if s.id == old.session_id] == ["Monday review"]
    assert window.banner.text() == "Past session: Monday review"

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    window.sessions.list.setCurrentRow(1)
    window.sessions.delete_button.click()
    assert [s.id for s in list_sessions()] == [live.session_id]

    window.back_button.click()
    assert window.banner.text() == "Live transcript"
    live.close()


def test_the_live_session_cannot_be_deleted(qtbot, window, session):
    window.show_live(session)
    window.sessions.list.setCurrentRow(0)
    assert not window.sessions.delete_button.isEnabled()
    assert not window.sessions.rename_button.isEnabled()
    assert window.sessions.open_button.isEnabled()


def test_closing_the_window_only_hides_it(qtbot, window):
    window.close()
    assert not window.isVisible()
