"""What the app tells people about its state: why Record is off, why audio went uncaptioned,
the lag line, and the offer to fall back to this computer when a speech server fails."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox, QWidget

from app.events import GapReason, SourceStatus
from app.ui.recorder import RecorderState

# Why Record is disabled, by the recorder's state.
RECORD_UNAVAILABLE = {
    RecorderState.LOADING: "Wait: the speech model is loading.",
    RecorderState.STARTING: "Captioning is starting.",
    RecorderState.RUNNING: "Already recording; Stop ends this session.",
    RecorderState.PAUSED: "Recording is paused; Pause again resumes it, Stop ends it.",
}
# What was observed when audio went uncaptioned, by Gap.reason.
GAP_REASONS = {
    GapReason.SKIP: "captioning had fallen behind, so the oldest waiting audio was skipped",
    GapReason.OVERFLOW: "the capture buffer was full (captioning did not read it in time)",
    GapReason.DEVICE_LOST: "the device delivered nothing (it was away)",
    GapReason.ENGINE: "the speech engine lost it (the connection dropped)",
}
NO_MODEL = "Record needs the speech model: download it, or import a folder, in the Model window."


def status_text(statuses: dict[str, SourceStatus]) -> str:
    """The status line: lag and real-time factor per source."""
    parts = []
    for s in statuses.values():
        behind = ", falling behind" if s.rtf > 1.0 else ""
        parts.append(f"{s.label}: lag {s.lag:.1f} s · "
                     f"{s.rtf:.2f}× real time{behind}")
    return "   ".join(parts)


def offer_this_computer(parent: QWidget, notice: str, use_local: Callable[[], None]) -> QMessageBox:
    """A non-modal question after a remote engine failed to start: use this computer instead?"""
    box = QMessageBox(QMessageBox.Icon.Warning, "Speech engine unavailable",
                      f"{notice}\n\nUse this computer instead? The setting can be changed "
                      "back in Settings > Engine.", parent=parent)
    local = box.addButton("Use this computer", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Not now", QMessageBox.ButtonRole.RejectRole)
    local.clicked.connect(use_local)
    box.open()
    return box
