"""Take the README's screenshots from the real app under Xvfb.

    xvfb-run -a -s "-screen 0 1600x900x24" .venv/bin/python scripts/screenshots.py docs

(Qt's xcb plugin needs libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1 and libxcb-shape0 on
Debian and Ubuntu.)

Everything is the real app (controller, recorder, bridge, transcript session, overlay, windows)
except the speech model: a scripted pipeline reports a fixed conversation through the same
callbacks the live pipeline uses, so the captions in the pictures are readable. The overlay is
composed over a sample window with Qt's own grabs, since Xvfb has no compositor to blend it.
"""
from __future__ import annotations

import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
_tmp = tempfile.mkdtemp(prefix="voxcap-shots-")
os.environ["VOXCAP_DATA_DIR"] = str(Path(_tmp) / "data")
os.environ["VOXCAP_CONFIG_DIR"] = str(Path(_tmp) / "config")

from PySide6.QtCore import QEventLoop, QPoint, QRect, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QLinearGradient, QPainter, QPixmap
from PySide6.QtWidgets import QWidget

from app.audio import DeviceInfo, Inventory
from app.events import SourceState, SourceStatus, TextEvent
from app.settings import Settings
from app.transcript import create_session
from app.ui.controller import AppController
from app.ui.main import make_application

CONVERSATION = [
    ("Them", ("Welcome back, everyone. Today we look at how stars are born inside cold clouds "
             "of gas and dust.")),
    ("Me", "How long does that take?"),
    ("Them", ("For a star like our Sun, about a million years, which is quick for the universe. "
             "Gravity pulls the gas together until the core is hot enough to fuse hydrogen.")),
]
SOURCE_IDS = {"Me": "mic", "Them": "system"}
PAST = "Earlier we talked about the life of the Sun and what happens when it runs out of fuel."


class ScriptedPipeline:
    """Reports CONVERSATION word by word, with statuses, like ``app.live.pipeline.LivePipeline``."""

    def __init__(self, model, sources, delay_ms=480, *, on_text, on_gap, on_status, on_error,
                 source_factory=None) -> None:
        self._on_text, self._on_status = on_text, on_status
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.done = threading.Event()
        self.delay_ms, self.paused = delay_ms, False

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        t = 0.0
        for label, sentence in CONVERSATION:
            for word in sentence.split(" "):
                self._on_text(TextEvent(SOURCE_IDS[label], label, " " + word, t, t + 0.24,
                                        time.time()))
                t += 0.3
                time.sleep(0.01)
            t += 1.5
        for label, lag, rtf in (("Me", 0.2, 0.31), ("Them", 0.3, 0.33)):
            self._on_status(SourceStatus(SOURCE_IDS[label], label, lag, rtf, -24.0,
                                         SourceState.RUNNING))
        self.done.set()

    def stop(self) -> None:
        self._thread.join()

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False

    def set_delay(self, delay_ms: int) -> None:
        self.delay_ms = delay_ms

    def set_sources(self, sources) -> None:
        pass


class SlideWindow(QWidget):
    """A stand-in for the video or lecture the captions are shown over."""

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        sky = QLinearGradient(0, 0, 0, self.height())
        sky.setColorAt(0, QColor("#0b1a3a"))
        sky.setColorAt(1, QColor("#3a1f4f"))
        p.fillRect(self.rect(), sky)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor("#fff4d6"))
        stars = random.Random(7)  # the same sky every time
        for _ in range(140):
            x, y = stars.randrange(self.width()), stars.randrange(self.height() * 2 // 3)
            r = stars.choice((1, 1, 1, 2))
            p.drawEllipse(QPoint(x, y), r, r)
        title = QFont()
        title.setPointSize(34)
        title.setBold(True)
        p.setFont(title)
        p.setPen(QColor("#ffffff"))
        p.drawText(QRect(0, 120, self.width(), 80), Qt.AlignmentFlag.AlignHCenter,
                   "Where stars are born")
        sub = QFont()
        sub.setPointSize(18)
        p.setFont(sub)
        p.setPen(QColor("#c9d3ff"))
        p.drawText(QRect(0, 200, self.width(), 40), Qt.AlignmentFlag.AlignHCenter,
                   "Astronomy 101 · Lecture 7")


def wait(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait_until(condition, timeout_ms: int = 20000) -> None:
    deadline = time.monotonic() + timeout_ms / 1000
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("the app did not reach the expected state")
        wait(50)


def record_past_session() -> None:
    past = create_session("Astronomy 101 · Lecture 6")
    t = 0.0
    for word in PAST.split(" "):
        past.add_event(TextEvent("system", "Them", " " + word, t, t + 0.24,
                                 time.time() - 86400 * 7))
        t += 0.3
    past.close()


def overlay_over_window(controller: AppController, out: Path) -> None:
    slide = SlideWindow()
    slide.setGeometry(0, 0, 1280, 720)
    slide.show()
    overlay = controller.overlay
    overlay.setGeometry(190, 500, 900, overlay.height())
    overlay.raise_()
    wait(600)  # let the roll animation settle
    picture = slide.grab()
    p = QPainter(picture)
    p.drawPixmap(overlay.geometry().topLeft() - slide.geometry().topLeft(), overlay.grab())
    p.end()
    picture.save(str(out / "overlay.png"))
    slide.close()


def save(widget: QWidget, path: Path) -> None:
    wait(300)
    pixmap: QPixmap = widget.grab()
    pixmap.save(str(path))


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "docs")
    out.mkdir(parents=True, exist_ok=True)
    app = make_application()
    record_past_session()
    settings = Settings(theme="light")
    settings.sources.mode = "both"
    settings.overlay.show_status = True
    settings.overlay.lines = 4
    settings.overlay.opacity = 0.6
    devices = Inventory([DeviceInfo("mic", "mic:usb", "USB Headset Microphone", True),
                         DeviceInfo("system", "system:hdmi", "Built-in Speakers", True)], [])
    pipelines: list[ScriptedPipeline] = []

    def scripted(*args, **kwargs) -> ScriptedPipeline:
        pipelines.append(ScriptedPipeline(*args, **kwargs))
        return pipelines[-1]

    controller = AppController(settings, model_dir=Path(_tmp), audio_devices=lambda: devices,
                               load=lambda *a, **k: "scripted", pipeline_factory=scripted)
    controller.finished.connect(app.quit)
    controller.start()
    wait_until(lambda: bool(pipelines) and pipelines[0].done.is_set())
    wait_until(lambda: controller.window.model.rowCount() >= 3)
    overlay_over_window(controller, out)
    controller.window.resize(1000, 560)
    controller.open_transcript()
    save(controller.window, out / "transcript.png")
    controller.open_settings()
    controller.settings_dialog.resize(620, controller.settings_dialog.sizeHint().height())
    save(controller.settings_dialog, out / "settings.png")
    controller.settings_dialog.tabs.setCurrentIndex(2)
    save(controller.settings_dialog, out / "settings-appearance.png")
    controller.quit()
    app.exec()
    controller.wait_for_workers(10000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
