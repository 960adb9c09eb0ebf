"""The transcript window: the live transcript (or a past session), search, copy, export, sessions.

Recording is driven from here through the shared actions (record, pause, stop); the window
itself only shows. Closing it hides it: the app keeps captioning until Quit.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.atomic import write_atomic
from app.events import Segment
from app.transcript import (
    FORMATS,
    SessionFormatError,
    SessionNotFound,
    Transcript,
    export,
    export_chunks,
    find_session,
    format_for_path,
    load_segments,
)
from app.ui.actions import AppActions
from app.ui.assets import app_icon
from app.ui.sessions_panel import SessionsPanel
from app.ui.transcript_model import SEGMENT_ROLE, TranscriptTableModel


class TranscriptWindow(QMainWindow):
    def __init__(self, actions: AppActions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Transcript")
        self.setWindowIcon(app_icon())
        self.setAccessibleName("Transcript window")
        self.resize(900, 560)
        self._actions = actions
        self._title = "Live transcript"
        self._shown_id: str | None = None  # the past session shown, None for the live one
        self._all_segments: Callable[[], list[Segment]] = list
        self._follow = True
        self.model = TranscriptTableModel(parent=self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.table = self._make_table()
        self.search = QLineEdit(placeholderText="Search", clearButtonEnabled=True)
        self.search.setAccessibleName("Search the transcript")
        self.search.textChanged.connect(self.proxy.setFilterFixedString)
        self.sessions = SessionsPanel()
        self.sessions.open_requested.connect(self.show_session)
        self.sessions.live_requested.connect(self._back_to_live)
        self.sessions.renamed.connect(self._session_renamed)
        self.banner = QLabel()
        self.banner.setAccessibleName("What is shown")
        self.back_button = QPushButton("Back to live", clicked=self._back_to_live)
        self.back_button.setAccessibleName("Back to the live transcript")
        self.status = QLabel()
        self.status.setAccessibleName("Recording status")
        # A long message is cut at the window's edge (not widening it); Details shows it whole.
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.statusBar().addWidget(self.status, 1)
        self.details_button = QPushButton("Details…", clicked=self.show_details)
        self.details_button.setAccessibleName("Show the whole message")
        self.details_button.hide()
        self.statusBar().addPermanentWidget(self.details_button)
        self._problem = ""
        self._live: Transcript | None = None
        self._build_menus()
        self._build_toolbar()
        self._build_layout()
        self.addActions(actions.hotkey_actions())

    def _make_table(self) -> QTableView:
        table = QTableView()
        table.setModel(self.proxy)
        table.setAccessibleName("Transcript")
        table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        table.setWordWrap(True)
        table.setAlternatingRowColors(True)
        table.verticalHeader().hide()
        header = table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        bar = table.verticalScrollBar()
        bar.valueChanged.connect(lambda v: setattr(self, "_follow", v >= bar.maximum()))
        self.model.rowsInserted.connect(self._keep_following)
        return table

    def _build_menus(self) -> None:
        a = self._actions
        app_menu = self.menuBar().addMenu("&voxcap")
        app_menu.addActions([a.record, a.pause, a.stop])
        app_menu.addSeparator()
        app_menu.addActions([a.settings, a.models, a.about])
        app_menu.addSeparator()
        app_menu.addAction(a.quit)
        captions = self.menuBar().addMenu("&Captions")
        captions.addActions([a.show_overlay, a.lock, a.click_through, a.show_status])
        captions.addSeparator()
        captions.addActions([a.bigger, a.smaller])

    def _build_toolbar(self) -> None:
        a = self._actions
        bar = self.addToolBar("Recording")
        bar.setObjectName("recording")
        bar.addActions([a.record, a.pause, a.stop])
        bar.addSeparator()
        self.copy_action = QAction("&Copy", self, triggered=self.copy_selection)
        self.copy_action.setShortcut(QKeySequence.StandardKey.Copy)
        self.copy_action.setToolTip("Copy the selected lines, or all of them")
        bar.addAction(self.copy_action)
        self.export_menu = QMenu("Export", self)
        for fmt, description in FORMATS.items():
            self.export_menu.addAction(f"{description} (.{fmt})…",
                                       lambda f=fmt: self.ask_export(f))
        self.export_button = QToolButton(text="&Export", menu=self.export_menu)
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.export_button.setAccessibleName("Export the transcript")
        bar.addWidget(self.export_button)
        bar.addSeparator()
        find = QLabel("&Find:")
        find.setBuddy(self.search)
        bar.addWidget(find)
        bar.addWidget(self.search)
        for action in (a.record, a.pause, a.stop, self.copy_action):
            # Toolbar buttons skip the Tab chain by default; keyboard users need them too.
            bar.widgetForAction(action).setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        focus_search = QAction(self, triggered=self.search.setFocus)
        focus_search.setShortcut(QKeySequence.StandardKey.Find)
        self.addAction(focus_search)

    def _build_layout(self) -> None:
        right = QWidget()
        top = QHBoxLayout()
        top.addWidget(self.banner, 1)
        top.addWidget(self.back_button)
        column = QVBoxLayout(right)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(top)
        column.addWidget(self.table)
        splitter = QSplitter()
        splitter.addWidget(self.sessions)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([240, 660])
        central = QWidget()
        margins = QVBoxLayout(central)
        margins.setContentsMargins(8, 4, 8, 4)
        margins.addWidget(splitter)
        self.setCentralWidget(central)
        self._show_banner(live=True)

    # -- what is shown --------------------------------------------------------------------------

    def show_live(self, transcript: Transcript | None) -> None:
        """Follow ``transcript`` (None: nothing is recording)."""
        self._live = transcript
        self._shown_id = None
        self._title = _session_name(transcript)
        self.model.attach(transcript)
        self._all_segments = (lambda: transcript.segments) if transcript else list
        self._show_banner(live=True)
        self.sessions.refresh(transcript.session_id if transcript else None)

    def show_session(self, session_id: str) -> None:
        """Show a past session, read-only; export then writes that one."""
        try:
            info = find_session(session_id)
            segments = load_segments(session_id)
        except (SessionNotFound, SessionFormatError, OSError) as exc:
            QMessageBox.warning(self, "Cannot open session", str(exc))
            self.sessions.refresh(self._live.session_id if self._live else None)
            return
        self._title = info.name
        self._shown_id = info.id
        self.model.show_segments(segments)
        self._all_segments = lambda: list(segments)
        self._show_banner(live=False)

    def _session_renamed(self, session_id: str, name: str) -> None:
        if session_id == self._shown_id:
            self._title = name
            self._show_banner(live=False)

    def _back_to_live(self) -> None:
        self.show_live(self._live)

    def _show_banner(self, live: bool) -> None:
        self.banner.setText("Live transcript" if live else f"Past session: {self._title}")
        self.back_button.setVisible(not live)

    def set_status(self, text: str) -> None:
        """A state or lag line; a problem shown before stays reachable through Details."""
        self.status.setText(text)
        self.status.setToolTip(text)

    def show_problem(self, text: str) -> None:
        """An error: in the status line, whole in its tooltip and behind Details…."""
        self._problem = text
        self.set_status(text)
        self.details_button.show()

    def show_details(self) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, "Message", self._problem,
                          QMessageBox.StandardButton.Close, self)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.open()

    def _keep_following(self) -> None:
        if self._follow:
            self.table.scrollToBottom()

    # -- copy and export ------------------------------------------------------------------------

    def selected_segments(self) -> list[Segment]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.proxy.index(r, 0).data(SEGMENT_ROLE) for r in rows]

    def copy_selection(self) -> None:
        """Copies the selected lines, or everything shown when nothing is selected."""
        segments = self.selected_segments()
        if not segments:
            segments = [self.proxy.index(r, 0).data(SEGMENT_ROLE)
                        for r in range(self.proxy.rowCount())]
        QGuiApplication.clipboard().setText(export(segments, "txt"))
        self.statusBar().showMessage(f"Copied {len(segments)} lines", 3000)

    def ask_export(self, fmt: str) -> None:
        filters = ";;".join(f"{desc} (*.{f})" for f, desc in FORMATS.items())
        chosen = f"{FORMATS[fmt]} (*.{fmt})"
        default = str(Path.home() / f"{_file_stem(self._title)}.{fmt}")
        path, selected = QFileDialog.getSaveFileName(self, "Export transcript", default,
                                                     filters, chosen)
        if not path:
            return
        fmt = format_for_path(path) or next(
            (f for f, desc in FORMATS.items() if selected.startswith(desc)), fmt)
        if not Path(path).suffix:
            path += f".{fmt}"
        self.export_to(Path(path), fmt)

    def export_to(self, path: Path, fmt: str) -> bool:
        """Write everything shown (trimmed rows included) to ``path``; False after telling why."""
        try:
            write_atomic(path, export_chunks(self._all_segments(), fmt, title=self._title))
        except OSError as exc:
            QMessageBox.warning(
                self, "Export failed",
                f"Could not write {path}: {exc.strerror or exc}. Choose another folder or name.")
            return False
        self.statusBar().showMessage(f"Exported to {path}", 5000)
        return True

    def closeEvent(self, event: QCloseEvent) -> None:
        event.ignore()
        self.hide()


def _session_name(transcript: Transcript | None) -> str:
    if transcript is None or transcript.session_id is None:
        return "Live transcript"
    try:
        return find_session(transcript.session_id).name
    except (SessionNotFound, OSError):  # not on disk before its first text
        return transcript.name or "Live transcript"


def _file_stem(title: str) -> str:
    """A file name from a session name: no characters file systems refuse."""
    stem = "".join(c if c.isalnum() or c in " -_" else "-" for c in title).strip()
    return stem or "transcript"
