"""The About dialog: which voxcap, which model revision, which torch build, and their licenses.

The same facts as ``voxcap --version`` (:mod:`app.about`), as selectable text so they can be
copied into a bug report.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from app.about import About, about
from app.ui.assets import app_icon

SUMMARY = ("Live, private captions of what your computer hears, computed on this computer. "
           "Nothing leaves the machine.")


class AboutDialog(QDialog):
    def __init__(self, facts: About | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        facts = facts or about()
        self.setWindowTitle("About voxcap")
        self.setWindowIcon(app_icon())
        self.setAccessibleName("About voxcap")
        icon = QLabel()
        icon.setPixmap(app_icon().pixmap(64, 64))
        icon.setAccessibleName("voxcap icon")
        self.title = self._text(f"<b>voxcap {facts.version}</b>", "Version")
        summary = self._text(SUMMARY, "Summary")
        summary.setWordWrap(True)
        header = QHBoxLayout()
        header.addWidget(icon)
        header.addWidget(self.title, 1)

        self.model = self._text(f'<a href="{facts.model_url}">{facts.model_repo}</a>',
                                "Speech model")
        self.model.setOpenExternalLinks(True)
        self.revision = self._text(facts.model_revision, "Model revision")
        self.model_license = self._text(facts.model_license, "Model license")
        self.app_license = self._text(facts.app_license, "voxcap license")
        self.torch = self._text(facts.torch or "unknown", "torch build")
        form = QFormLayout()
        form.addRow("Model:", self.model)
        form.addRow("Revision:", self.revision)
        form.addRow("Model license:", self.model_license)
        form.addRow("voxcap license:", self.app_license)
        form.addRow("torch:", self.torch)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setAccessibleName("Close About")
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(summary)
        layout.addLayout(form)
        layout.addWidget(buttons)

    @staticmethod
    def _text(text: str, name: str) -> QLabel:
        label = QLabel(text)
        label.setAccessibleName(name)
        # Selectable, and reachable with Tab so a screen reader can read each fact.
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        return label
