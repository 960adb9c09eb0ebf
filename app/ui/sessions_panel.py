"""The list of recorded sessions beside the transcript: open, continue, rename, delete.

The live session heads the list. Renaming and deleting act on disk at once (through
:mod:`app.transcript`); opening and continuing are requests the window and the controller carry
out, since they change what is shown or recorded.
"""
from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.transcript import (
    SessionBusy,
    SessionInfo,
    SessionNotFound,
    delete_session,
    find_session,
    list_sessions,
    rename_session,
)
from app.ui.transcript_model import clock

LIVE = ""  # item data of the live transcript's entry


def describe(info: SessionInfo) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(info.created))
    sources = ", ".join(info.sources) or "no speech yet"
    return f"{info.name}\n{when} · {clock(info.duration)} · {sources}"


class SessionsPanel(QWidget):
    open_requested = Signal(str)  # session id to view
    live_requested = Signal()  # back to the live transcript
    continue_requested = Signal(str)  # session id to record into again
    renamed = Signal(str, str)  # session id, its new name

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._live_id: str | None = None
        title = QLabel("&Sessions")
        self.list = QListWidget()
        self.list.setAccessibleName("Recorded sessions")
        self.list.setSpacing(3)
        self.list.setAlternatingRowColors(True)
        self.list.setAccessibleDescription("Enter opens the selected session")
        title.setBuddy(self.list)
        self.list.itemActivated.connect(self._activate)
        self.list.currentItemChanged.connect(self._update_buttons)
        self.open_button = self._button("Open", "Open the selected session", self._open)
        self.continue_button = self._button(
            "Continue", "Continue recording into the selected session", self._continue)
        self.rename_button = self._button("Rename…", "Rename the selected session", self._rename)
        self.delete_button = self._button("Delete…", "Delete the selected session", self._delete)
        buttons = QHBoxLayout()
        for b in (self.open_button, self.continue_button, self.rename_button, self.delete_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(title)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        self._update_buttons()

    def _button(self, text: str, accessible: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.setAccessibleName(accessible)
        button.clicked.connect(slot)
        return button

    def refresh(self, live_id: str | None = None) -> None:
        """Re-read the sessions on disk; ``live_id`` is the one recording now, if any."""
        self._live_id = live_id
        selected = self.selected()
        self.list.clear()
        if live_id is not None:
            item = QListWidgetItem("Live transcript\nrecording now")
            item.setData(Qt.ItemDataRole.UserRole, LIVE)
            self.list.addItem(item)
        for info in list_sessions():
            if info.id == live_id:
                continue
            item = QListWidgetItem(describe(info))
            item.setData(Qt.ItemDataRole.UserRole, info.id)
            self.list.addItem(item)
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole) == selected:
                self.list.setCurrentRow(row)
        self._update_buttons()

    def selected(self) -> str | None:
        """The selected session's id, LIVE for the live transcript, None when nothing is."""
        item = self.list.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def _update_buttons(self) -> None:
        ref = self.selected()
        past = bool(ref)  # not None and not LIVE
        self.open_button.setEnabled(ref is not None)
        for button in (self.continue_button, self.rename_button, self.delete_button):
            button.setEnabled(past)

    def _activate(self, item: QListWidgetItem) -> None:
        self._open()

    def _open(self) -> None:
        ref = self.selected()
        if ref == LIVE:
            self.live_requested.emit()
        elif ref:
            self.open_requested.emit(ref)

    def _continue(self) -> None:
        if ref := self.selected():
            self.continue_requested.emit(ref)

    def _rename(self) -> None:
        ref = self.selected()
        if not ref:
            return
        try:
            old = find_session(ref).name
        except (OSError, SessionNotFound) as exc:
            QMessageBox.warning(self, "Cannot rename", f"The session was not renamed: {exc}")
            self.refresh(self._live_id)
            return
        name = self.ask_name(old)
        if name is None or name == old:
            return
        try:
            rename_session(ref, name)
        except (ValueError, OSError, SessionNotFound) as exc:
            QMessageBox.warning(self, "Cannot rename", f"The session was not renamed: {exc}")
        else:
            self.renamed.emit(ref, name.strip())
        self.refresh(self._live_id)

    def ask_name(self, old: str) -> str | None:
        """The new name the user typed, starting from ``old``; None when cancelled."""
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Rename session")
        dialog.setLabelText("New name for this session:")
        dialog.setTextValue(old)
        # Wide enough for the title (window managers cut it to the dialog's width) and a name.
        width = max(360, dialog.fontMetrics().horizontalAdvance(old) + 120)
        dialog.setMinimumWidth(width)
        dialog.resize(width, dialog.sizeHint().height())
        return dialog.textValue() if dialog.exec() == QInputDialog.DialogCode.Accepted else None

    def _delete(self) -> None:
        ref = self.selected()
        if not ref:
            return
        answer = QMessageBox.question(
            self, "Delete session", "Delete this session and its transcript for good?")
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            delete_session(ref)
        except (OSError, SessionNotFound, SessionBusy) as exc:
            QMessageBox.warning(self, "Cannot delete", f"The session was not deleted: {exc}")
        self.refresh(self._live_id)
