"""Settings page "Engine": transcribe on this computer, on a vLLM server, or with Mistral's API.

The address, model and choice are settings; API keys go to the OS keyring the moment they are
edited (``app.live.remote_keys``) and never into the settings. "Test connection" runs the same
checks as ``voxcap server check`` on a thread of its own, so the dialog never waits on the
network, and shows the findings in plain sentences; a model list from the server fills the
model box, and the server's delay is remembered for the Transcription page.
"""
from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.live import remote_keys
from app.live.mistral import PRIVACY_NOTE
from app.settings import Settings

KINDS = ("local", "vllm", "mistral")


class _CheckRelay(QObject):
    """Carries a check's result from its thread to the GUI thread (a queued signal)."""

    done = Signal(object)  # CheckResult


class EnginePage(QWidget):
    changed = Signal()
    checked = Signal(object)  # CheckResult, after "Test connection" finished

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._loading = False
        self._delay_ms = 0
        self.choice = QButtonGroup(self)
        self.buttons = {
            "local": QRadioButton("This &computer"),
            "vllm": QRadioButton("A v&LLM server"),
            "mistral": QRadioButton("&Mistral API (audio is sent to Mistral)"),
        }
        for i, kind in enumerate(KINDS):
            self.choice.addButton(self.buttons[kind], i)
        self.address = QLineEdit(placeholderText="ws://gpu-box:8000")
        self.address.setAccessibleName("vLLM server address")
        self.model = QComboBox(editable=True)
        self.model.setAccessibleName("Model name on the server")
        self.model.lineEdit().setPlaceholderText("the only model the server has")
        self.server_key = _key_field("vLLM server API key (optional)")
        self.test = QPushButton("&Test connection")
        self.result = QLabel(wordWrap=True)
        self.result.setAccessibleName("Connection test result")
        self.mistral_key = _key_field("Mistral API key")
        self.privacy = QLabel(PRIVACY_NOTE, wordWrap=True)
        self._relay = _CheckRelay()
        self._relay.done.connect(self._show_check)
        self._build()
        self._wire()

    def _build(self) -> None:
        server = QGroupBox("vLLM server")
        form = QFormLayout(server)
        form.addRow("&Address:", self.address)
        form.addRow("M&odel:", self.model)
        form.addRow("API &key:", self.server_key)
        row = QHBoxLayout()
        row.addWidget(self.test)
        row.addWidget(self.result, 1)
        form.addRow(row)
        mistral = QGroupBox("Mistral API")
        mform = QFormLayout(mistral)
        mform.addRow(self.privacy)
        mform.addRow("API ke&y:", self.mistral_key)
        self.server_box, self.mistral_box = server, mistral
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Where should speech be turned into text?"))
        for kind in KINDS:
            layout.addWidget(self.buttons[kind])
        layout.addWidget(server)
        layout.addWidget(mistral)
        layout.addStretch()

    def _wire(self) -> None:
        self.choice.idToggled.connect(lambda _id, on: on and self._kind_chosen())
        self.address.editingFinished.connect(self._address_edited)
        self.model.currentTextChanged.connect(self._emit)
        self.server_key.editingFinished.connect(self._server_key_edited)
        self.mistral_key.editingFinished.connect(
            lambda: self._save_key(remote_keys.MISTRAL, self.mistral_key, self.privacy))
        self.test.clicked.connect(self.start_check)

    # -- settings in and out ------------------------------------------------------------------

    def load(self, settings: Settings) -> None:
        self._loading = True
        e = settings.engine
        self.buttons[e.kind].setChecked(True)
        self.address.setText(e.server_url)
        self.model.setCurrentText(e.server_model)
        self._delay_ms = e.server_delay_ms
        self.server_key.setText(remote_keys.get_key(self._server_account()) or "")
        self.mistral_key.setText(remote_keys.get_key(remote_keys.MISTRAL) or "")
        self._show_kind()
        self._loading = False

    def store(self, settings: Settings) -> None:
        e = settings.engine
        e.kind = KINDS[max(0, self.choice.checkedId())]
        e.server_url = self.address.text().strip()
        e.server_model = self.model.currentText().strip()
        e.server_delay_ms = self._delay_ms

    # -- Test connection ----------------------------------------------------------------------

    def start_check(self) -> threading.Thread:
        """Check the server on a thread; the result shows when it is done."""
        from app.live.remote_check import check_server

        address, model = self.address.text().strip(), self.model.currentText().strip()
        key = self.server_key.text().strip() or None
        if not address:
            self.result.setText("Enter the server's address first, e.g. ws://gpu-box:8000.")
            return threading.Thread()
        self.test.setEnabled(False)
        self.result.setText("Testing…")
        worker = threading.Thread(
            target=lambda: self._relay.done.emit(check_server(address, model or None, key)),
            name="voxcap-server-check", daemon=True,
        )
        worker.start()
        return worker

    def _show_check(self, result) -> None:
        self.test.setEnabled(True)
        self.result.setText("\n".join(result.lines))
        if result.models:
            chosen = result.model or self.model.currentText()
            self.model.blockSignals(True)
            self.model.clear()
            self.model.addItems(result.models)
            self.model.setCurrentText(chosen)
            self.model.blockSignals(False)
        if result.delay_ms:
            self._delay_ms = result.delay_ms
        self._emit()
        self.checked.emit(result)

    # -- reactions ----------------------------------------------------------------------------

    def _kind_chosen(self) -> None:
        self._show_kind()
        self._emit()

    def _show_kind(self) -> None:
        kind = KINDS[max(0, self.choice.checkedId())]
        self.server_box.setEnabled(kind == "vllm")
        self.mistral_box.setEnabled(kind == "mistral")

    def _address_edited(self) -> None:
        self._delay_ms = 0  # another server may have another delay
        self.server_key.setText(remote_keys.get_key(self._server_account()) or "")
        self._emit()

    def _server_key_edited(self) -> None:
        if self.address.text().strip():
            self._save_key(self._server_account(), self.server_key, self.result)

    def _save_key(self, account: str, field: QLineEdit, report: QLabel) -> None:
        from keyring.errors import KeyringError

        try:
            remote_keys.set_key(account, field.text().strip())
        except (KeyringError, RuntimeError) as exc:
            report.setText(f"The key could not be saved: this computer's keyring is not "
                           f"available ({type(exc).__name__}). Set VOXCAP_API_KEY instead.")

    def _server_account(self) -> str:
        return remote_keys.account("vllm", self.address.text().strip())

    def _emit(self) -> None:
        if not self._loading:
            self.changed.emit()


def _key_field(name: str) -> QLineEdit:
    field = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
    field.setAccessibleName(name)
    return field
