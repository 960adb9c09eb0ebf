"""The model dialog: where the checkpoint stands, and download, resume, verify, import or remove it.

All the work is the :class:`app.models.ModelManager`'s, run on this dialog's own worker thread
so the window stays responsive through an 8.9 GB download; progress arrives as
``DownloadProgress`` values. Closing the dialog hides it and lets a download go on; the app
cancels it on quit (``shutdown``). Errors are shown in the manager's own words.
"""
from __future__ import annotations

import html
import math
import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QGridLayout,
    QLabel,
    QLayout,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.events import DownloadProgress
from app.models import Manifest, ModelManager, ModelStatus, State, human_size
from app.ui.assets import app_icon
from app.ui.bridge import Worker


def time_left(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "time left unknown"
    if seconds < 90:
        return f"{max(1, round(seconds))} s left"
    if seconds < 5400:
        return f"about {round(seconds / 60)} min left"
    return f"about {seconds / 3600:.1f} h left"


def describe(status: ModelStatus) -> str:
    size = human_size(status.size)
    return {
        State.MISSING: f"Not downloaded yet. The model is {size}; it is downloaded once, then "
                       "everything runs offline.",
        State.PARTIAL: f"Partly downloaded: {human_size(status.done)} of {size}. Resume to "
                       "finish; what is there is kept.",
        State.UNVERIFIED: "The files are all there but changed since they were last checked. "
                          "Verify them before use.",
        State.DAMAGED: "Some files are damaged: "
                       + ", ".join(f"{f.name} ({f.reason})" for f in status.damaged)
                       + ". Resume the download to fetch only those again.",
        State.DOWNLOADING: "Another voxcap window is downloading the model right now.",
        State.VERIFYING: "Another voxcap window is checking the model right now.",
        State.READY: f"Ready ({size}, checked) in {status.folder}.",
    }[status.state]


# The manager's messages serve the terminal too; here they name the buttons instead.
GUI_WORDS = {
    "`voxcap model import DIR`": "Import folder… below",
    "`voxcap model download`": "Download below",
    "(`voxcap model download`)": "(Download below)",
}


def for_the_gui(message: str, manifest: Manifest) -> str:
    """``message`` as rich text naming the dialog's buttons; when it suggests importing a
    folder, it also says where the pinned files can be fetched on another machine."""
    for command, button in GUI_WORDS.items():
        message = message.replace(command, button)
    text = html.escape(message).replace("Import folder… below", "<b>Import folder…</b> below")
    text = text.replace("Download below", "<b>Download</b> below")
    if "Import folder" in message:
        names = ", ".join(f.name for f in manifest.files)
        url = f"https://huggingface.co/{manifest.repo_id}/tree/{manifest.revision}"
        text += (f"<br><br>On a computer with internet, download the {len(manifest.files)} "
                 f"files {names} of revision {manifest.revision[:10]} from "
                 f'<a href="{url}">huggingface.co/{manifest.repo_id}</a> (Files and '
                 "versions), put them in one folder, bring it here, then choose "
                 "<b>Import folder…</b>.")
    return text


class ModelDialog(QDialog):
    model_ready = Signal(object)  # Path of the verified checkpoint folder

    def __init__(self, manager: ModelManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Model")
        self.setWindowIcon(app_icon())
        self.setAccessibleName("Model")
        self.setMinimumWidth(520)
        self._manager = manager
        self._worker = Worker("voxcap-model", self)
        self._cancel = threading.Event()
        self._done: dict[str, int] = {}
        self._status: ModelStatus | None = None
        heading = QLabel(f"<b>Voxtral Mini 4B Realtime</b><br>{manager.manifest.repo_id} "
                         f"at {manager.manifest.revision[:10]}")
        self.state_label = self._label("Model state")
        self.progress = QProgressBar(maximum=1000, textVisible=True)
        self.progress.setAccessibleName("Progress")
        self.detail = self._label("Progress details")
        self.error = self._label("Error")
        self.error.setOpenExternalLinks(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.download_button = self._button("&Download", "Download the model", self.download)
        self.cancel_button = self._button("&Cancel", "Cancel the download", self.cancel)
        self.verify_button = self._button("&Verify", "Check every file's checksum", self.verify)
        self.import_button = self._button("&Import folder…", "Import the model from a folder",
                                          self.ask_import)
        self.remove_button = self._button("&Remove", "Remove the downloaded model", self.remove)
        self.close_button = self._button("C&lose", "Close this window", self.close)
        buttons = QGridLayout()
        for i, b in enumerate((self.download_button, self.cancel_button, self.verify_button,
                               self.import_button, self.remove_button, self.close_button)):
            buttons.addWidget(b, i // 3, i % 3)
        layout = QVBoxLayout(self)
        # The window grows with a long message instead of cutting it off.
        layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        for widget in (heading, self.state_label, self.progress, self.detail, self.error):
            layout.addWidget(widget)
        layout.addLayout(buttons)
        self.refresh()

    def _label(self, name: str) -> QLabel:
        label = QLabel(wordWrap=True)
        label.setAccessibleName(name)
        return label

    def _button(self, text: str, name: str, slot: Callable[[], None]) -> QPushButton:
        button = QPushButton(text)
        button.setAccessibleName(name)
        button.clicked.connect(slot)
        return button

    @property
    def busy(self) -> bool:
        return self._worker.busy

    def refresh(self) -> None:
        """Re-read the state on disk (quick: no hashing, no network)."""
        self._show_status(self._manager.status())

    def _show_status(self, status: ModelStatus) -> None:
        self._status = status
        self.state_label.setText(describe(status))
        if not self.busy:
            self.progress.setValue(round(1000 * status.done / max(1, status.size)))
            # A bar at 0 % says a download is under way; show it only when one was begun.
            self.progress.setVisible(status.done > 0)
        self._update_buttons()

    def _update_buttons(self) -> None:
        state = self._status.state if self._status else State.MISSING
        idle = not self.busy
        resumable = state in (State.PARTIAL, State.DAMAGED)
        self.download_button.setText("&Resume download" if resumable else "&Download")
        self.download_button.setEnabled(idle and state in (State.MISSING, State.PARTIAL,
                                                           State.DAMAGED, State.UNVERIFIED))
        self.cancel_button.setEnabled(not idle and not self._cancel.is_set())
        self.verify_button.setEnabled(idle and state not in (State.MISSING, State.DOWNLOADING,
                                                             State.VERIFYING))
        self.import_button.setEnabled(idle)
        self.remove_button.setEnabled(idle and state is not State.MISSING)

    # -- actions --------------------------------------------------------------------------------

    def download(self) -> None:
        self._run(lambda report: self._manager.download(report, self._cancel), "Downloading…")

    def verify(self) -> None:
        self._run(lambda report: self._manager.verify(report, self._cancel), "Checking…")

    def ask_import(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder with the model files")
        if folder:
            self.import_folder(Path(folder))

    def import_folder(self, folder: Path) -> None:
        self._run(lambda report: self._manager.import_folder(folder, report, self._cancel),
                  "Importing…")

    def cancel(self) -> None:
        self._cancel.set()
        self.detail.setText("Cancelling… what was downloaded is kept.")
        self._update_buttons()

    def remove(self) -> None:
        answer = QMessageBox.question(self, "Remove the model",
                                      "Delete the downloaded model files? You can download "
                                      "them again later.")
        if answer == QMessageBox.StandardButton.Yes:
            self._run(lambda report: self._manager.remove(), "Removing…")

    def shutdown(self) -> None:
        """Stop any work (keeping partial files) and end the thread; never blocks."""
        self._cancel.set()
        self._worker.close()

    def wait(self, ms: int) -> bool:
        return self._worker.wait(ms)

    # -- running work ---------------------------------------------------------------------------

    def _run(self, job: Callable, busy_text: str) -> None:
        self._cancel = threading.Event()
        status = self._status or self._manager.status()
        self._done = {f.name: f.done for f in status.files}
        self.error.clear()
        self.detail.setText(busy_text)
        self.progress.show()
        self._worker.submit(job, on_done=self._finished, on_error=self._failed,
                            on_progress=self._progress)
        self._update_buttons()

    def _progress(self, p: DownloadProgress) -> None:
        self._done[p.file] = p.done
        if p.state in ("downloading", "copying"):
            total = self._manager.manifest.total_size
            self.progress.setValue(round(1000 * sum(self._done.values()) / max(1, total)))
            self.detail.setText(f"{p.state.capitalize()} {p.file}: {human_size(p.done)} of "
                                f"{human_size(p.total)} · {human_size(p.rate)}/s · "
                                f"{time_left(p.eta)}")
        elif p.state == "verifying":
            self.progress.setValue(round(1000 * p.done / max(1, p.total)))
            self.detail.setText(f"Checking {p.file}: {human_size(p.done)} of "
                                f"{human_size(p.total)}")

    def _finished(self, result: object) -> None:
        self.detail.setText("Done.")
        self.refresh()
        if self._status is not None and self._status.ready:
            self.model_ready.emit(self._status.folder)

    def _failed(self, message: str) -> None:
        cancelled = self._cancel.is_set()
        self.detail.setText("Cancelled; what was downloaded is kept." if cancelled else "")
        if not cancelled:
            self.error.setText("⚠ " + for_the_gui(message, self._manager.manifest))
            self.adjustSize()  # a top-level window does not grow for a wrapped label alone
        self.refresh()

    def closeEvent(self, event: QCloseEvent) -> None:
        # Hiding keeps a download going; the tray or the overlay's menu brings this back.
        event.ignore()
        self.hide()
