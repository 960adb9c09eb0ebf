"""The app controller: connects the actions, the windows, the settings and the recorder.

It turns the user's actions into recorder calls, routes what the pipeline reports (through the
bridge) to the overlay, the transcript window and the tray, applies settings live and saves
them, and quits without ever blocking the GUI. What touches hardware or the disk beyond the
settings is injected (the recorder's model loader and pipeline, the model manager, the device
list), so tests can hand in a tiny checkpoint, a file source or a loopback Hub.
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from app import settings as settings_file
from app.audio import Inventory, list_devices
from app.events import Gap, GapReason, SourceStatus, TextEvent
from app.models import ModelManager
from app.settings import Settings
from app.ui.about_dialog import AboutDialog
from app.ui.actions import AppActions
from app.ui.bridge import PipelineBridge
from app.ui.global_hotkeys import GlobalHotkeys
from app.ui.model_dialog import ModelDialog
from app.ui.notices import (
    GAP_REASONS,
    NO_MODEL,
    RECORD_UNAVAILABLE,
    offer_this_computer,
    status_text,
)
from app.ui.overlay import CaptionOverlay
from app.ui.recorder import Recorder, RecorderState
from app.ui.settings_dialog import SettingsDialog
from app.ui.theme import ThemeManager
from app.ui.transcript_window import TranscriptWindow
from app.ui.tray import TrayIcon


class AppController(QObject):
    finished = Signal()  # after quit(): everything is stopped and saved

    def __init__(
        self,
        settings: Settings,
        *,
        model_dir: Path | None = None,
        manager: ModelManager | None = None,
        audio_devices: Callable[[], Inventory] = list_devices,
        **recorder_options: Any,
    ) -> None:
        """``recorder_options``: ``load``, ``pipeline_factory``, ``source_factory`` (Recorder)."""
        super().__init__()
        self.settings = settings
        self._model_dir = model_dir
        self._manager = manager
        self._audio_devices = audio_devices
        self._statuses: dict[str, SourceStatus] = {}
        self._quitting = False
        self._source_error = ""  # the pipeline's last complaint, kept to explain a failure
        self.actions = AppActions(self)
        self.global_hotkeys = GlobalHotkeys()
        self.theme = ThemeManager(QApplication.instance())
        self.bridge = PipelineBridge(self)
        self.recorder = Recorder(lambda: self.settings, self.bridge, parent=self,
                                 **recorder_options)
        self.overlay = CaptionOverlay(settings.overlay, self.actions)
        self.window = TranscriptWindow(self.actions)
        self.tray = TrayIcon(self.actions, self) if QSystemTrayIcon.isSystemTrayAvailable() \
            else None
        self.settings_dialog: SettingsDialog | None = None
        self.model_dialog: ModelDialog | None = None
        self.about_dialog: AboutDialog | None = None
        self._save_timer = QTimer(self, singleShot=True, interval=500,
                                  timeout=self.save_settings)
        self._wire()
        self._enable_actions(self.recorder.state)

    def _wire(self) -> None:
        a, r = self.actions, self.recorder
        a.record.triggered.connect(self.record)
        a.pause.toggled.connect(self._pause_toggled)
        a.stop.triggered.connect(r.stop)
        a.show_overlay.toggled.connect(self._show_overlay)
        a.open_transcript.triggered.connect(self.open_transcript)
        a.settings.triggered.connect(self.open_settings)
        a.models.triggered.connect(self.open_models)
        a.about.triggered.connect(self.open_about)
        a.lock.toggled.connect(lambda on: self._set_overlay_option("locked", on))
        a.click_through.toggled.connect(lambda on: self._set_overlay_option("click_through", on))
        a.show_status.toggled.connect(lambda on: self._set_overlay_option("show_status", on))
        a.bigger.triggered.connect(lambda: self._grow_font(2))
        a.smaller.triggered.connect(lambda: self._grow_font(-2))
        a.quit.triggered.connect(self.quit)
        self.bridge.text.connect(self._on_text)
        self.bridge.gap.connect(self._on_gap)
        self.bridge.status.connect(self._on_status)
        self.bridge.error.connect(self._on_error)
        r.state_changed.connect(self._on_state)
        r.session_changed.connect(self._on_session)
        r.session_closed.connect(self.window.show_session)
        r.finished.connect(self.finished)
        self.overlay.place_changed.connect(self._place_changed)
        self.overlay.addActions(a.hotkey_actions())
        self.window.sessions.continue_requested.connect(r.continue_session)

    def start(self) -> None:
        """Show the app; load the model, or open the model dialog when there is none."""
        self.theme.apply(self.settings.theme)
        self._set_hotkeys()
        self._sync_actions()
        self.overlay.restore_place()
        self.overlay.setVisible(self.settings.overlay.visible)
        if self.tray is not None:
            self.tray.show()
        else:
            self.open_transcript()  # no tray: the window's menus are the way to every action
        if self._remote():
            self.connect_remote()
            return
        path = self._model_dir or self.manager().ready_path()
        if path is None:
            self._on_state(RecorderState.NO_MODEL,
                           "No speech model yet: get it in the Model window.")
            self.open_models()
        else:
            self.load(Path(path))

    def manager(self) -> ModelManager:
        if self._manager is None:
            self._manager = ModelManager()
        return self._manager

    def load(self, path: Path) -> None:
        # The device is resolved on the recorder's worker: that imports torch, which takes
        # seconds the windows should not wait for.
        self.recorder.load(path, self.settings.device, self.settings.precision)

    def _remote(self) -> bool:
        """A remote engine is chosen (and no checkpoint folder was given to the app)."""
        return self._model_dir is None and self.settings.engine.kind != "local"

    def connect_remote(self) -> None:
        """Use the remote engine the settings name; the check runs on the recorder's worker."""
        from app.live.remote_backend import connect_engine

        engine = self.settings.engine
        where = "Mistral's API" if engine.kind == "mistral" else engine.server_url or "a server"
        self.recorder.use_remote(lambda: connect_engine(engine), where)

    def _offer_local(self, notice: str) -> None:
        """A remote engine failed at start: offer this computer instead (non-modal)."""
        self.engine_box = offer_this_computer(self.window, notice, self._use_local)

    def _use_local(self) -> None:
        new = copy.deepcopy(self.settings)
        new.engine.kind = "local"
        self.apply_settings(new)
        if self.settings_dialog is not None:
            self.settings_dialog.set_settings(self.settings)

    def record(self) -> None:
        if self._remote() and self.recorder.model is None:
            if self.recorder.state != RecorderState.LOADING:
                self.connect_remote()
        elif self.recorder.model is None and self.recorder.state != RecorderState.LOADING:
            self._on_state(RecorderState.NO_MODEL, NO_MODEL)
            self.open_models()
        else:
            self.recorder.start()

    def _pause_toggled(self, paused: bool) -> None:
        if self.recorder.pipeline is None:
            self.actions.pause.setChecked(False)
        else:
            self.recorder.set_paused(paused)

    # -- what the recorder and the pipeline report ----------------------------------------------

    def _on_state(self, state: RecorderState, notice: str) -> None:
        if state == RecorderState.RUNNING and not self.overlay.visible_lines():
            notice = "Listening…"
        if state == RecorderState.ERROR and self._source_error:
            notice = f"{self._source_error} {notice}"  # the cause first, then what failed
        if state != RecorderState.ERROR:
            self._source_error = ""
        if state == RecorderState.ERROR and self.recorder.model is None and self._remote():
            self._offer_local(notice)
        elif state == RecorderState.ERROR and self.recorder.model is None \
                and self._model_dir is None:
            self.open_models()  # a model that will not load: let the user verify or fetch it
        self.overlay.set_notice(notice)
        if state == RecorderState.ERROR:
            self.window.show_problem(notice)
        else:
            self.window.set_status(notice)
        if self.tray is not None:
            self.tray.set_state(notice or state)
        self._show_model_in_use()  # a reload may have chosen otherwise
        self.actions.pause.blockSignals(True)
        self.actions.pause.setChecked(state == RecorderState.PAUSED)
        self.actions.pause.blockSignals(False)
        self._enable_actions(state)

    def _enable_actions(self, state: RecorderState) -> None:
        """Record, Pause and Stop offered only when they can act; Record's tip says why not."""
        a = self.actions
        why_not = RECORD_UNAVAILABLE.get(state)
        a.record.setEnabled(why_not is None)
        a.record.setToolTip(why_not or "Start captioning and recording a new session")
        a.pause.setEnabled(state in (RecorderState.RUNNING, RecorderState.PAUSED))
        a.stop.setEnabled(state in (RecorderState.STARTING, RecorderState.RUNNING,
                                    RecorderState.PAUSED))

    def _on_session(self, transcript: Any) -> None:
        self.window.show_live(transcript)
        if transcript is not None:
            self.overlay.clear()
            self.overlay.set_labels(len(self.settings.source_specs()) > 1)

    def _on_text(self, event: TextEvent) -> None:
        self.overlay.add_text(event.source_id, event.label, event.text)
        if self.recorder.state == RecorderState.RUNNING:
            self.overlay.set_notice("")

    def _on_gap(self, gap: Gap) -> None:
        if gap.reason != GapReason.PAUSED:
            why = GAP_REASONS.get(gap.reason, gap.reason)
            self.window.statusBar().showMessage(
                f"{gap.duration:.1f} s of audio not captioned: {why}", 8000)

    def _on_status(self, status: SourceStatus) -> None:
        self._statuses[status.source_id] = status
        text = status_text(self._statuses)
        self.overlay.set_status(text)
        self.window.set_status(text)
        if self.settings_dialog is not None:
            self.settings_dialog.set_level(status.source_id, status.level_db)

    def _on_error(self, label: str, message: str) -> None:
        text = f"{label}: {message}" if label else message
        self._source_error = text
        self.overlay.set_notice(text)
        self.window.show_problem(text)
        if self.tray is not None:
            self.tray.showMessage("voxcap", text, QSystemTrayIcon.MessageIcon.Warning)

    # -- windows --------------------------------------------------------------------------------

    def open_transcript(self) -> None:
        self.window.show()
        self.window.raise_()
        self.window.activateWindow()

    def open_settings(self) -> None:
        if self.settings_dialog is None:
            from app import compute  # torch: only once settings are opened

            self.settings_dialog = SettingsDialog(self.settings, compute.available_devices(),
                                                  self._audio_devices)
            self.settings_dialog.settings_changed.connect(self.apply_settings)
        self._show_model_in_use()
        self.settings_dialog.show()
        self.settings_dialog.raise_()

    def _show_model_in_use(self) -> None:
        if self.settings_dialog is not None:
            reason = getattr(self.recorder.model, "chosen_because", "")
            self.settings_dialog.transcription.show_in_use(reason)

    def open_models(self) -> None:
        if self.model_dialog is None:
            self.model_dialog = ModelDialog(self.manager())
            self.model_dialog.model_ready.connect(self._model_ready)
        self.model_dialog.refresh()
        self.model_dialog.show()
        self.model_dialog.raise_()

    def open_about(self) -> None:
        if self.about_dialog is None:
            self.about_dialog = AboutDialog()
        self.about_dialog.show()
        self.about_dialog.raise_()

    def _model_ready(self, path: Path) -> None:
        r = self.recorder
        if self._model_dir is None and (r.model is None or path != r.model_path) \
                and r.state != RecorderState.LOADING:
            self.load(path)

    def _show_overlay(self, visible: bool) -> None:
        self.overlay.setVisible(visible)
        self.settings.overlay.visible = visible
        if not visible and self.tray is None:
            self.open_transcript()  # without a tray, something must stay on screen
        self._save_timer.start()

    def _sync_actions(self) -> None:
        o = self.settings.overlay
        for action, on in ((self.actions.show_overlay, o.visible),
                           (self.actions.lock, o.locked),
                           (self.actions.click_through, o.click_through),
                           (self.actions.show_status, o.show_status)):
            action.blockSignals(True)
            action.setChecked(on)
            action.blockSignals(False)

    # -- settings -------------------------------------------------------------------------------

    def apply_settings(self, new: Settings) -> None:
        """Apply what changed, live: streams and the model restart only when they must."""
        old = self.settings
        # The overlay's place and visibility are the overlay's, not the dialog's, to change.
        new.overlay.places, new.overlay.last_screen = old.overlay.places, old.overlay.last_screen
        new.overlay.visible = old.overlay.visible
        self.settings = new
        self.theme.apply(new.theme)
        if new.overlay != old.overlay:
            self.overlay.apply_settings(new.overlay)
            self._sync_actions()
        if new.hotkeys != old.hotkeys:
            self._set_hotkeys()
        r = self.recorder
        if _engine_key(new) != _engine_key(old):
            self._engine_changed()
        elif (new.device, new.precision) != (old.device, old.precision) \
                and r.model is not None and r.model_path is not None:
            self.load(r.model_path)
        else:
            if new.delay_ms != old.delay_ms:
                r.set_delay(new.delay_ms)
            if new.source_specs() != old.source_specs():
                self._statuses.clear()
                self.overlay.set_labels(len(new.source_specs()) > 1)
                r.set_sources(new.source_specs())
                if r.pipeline is None and r.state == RecorderState.ERROR:
                    r.start()  # the sources that failed to open may work now
        self._save_timer.start()

    def _engine_changed(self) -> None:
        """Another engine: connect to it, or load this computer's model (or ask for one)."""
        if self._remote():
            self.connect_remote()
            return
        path = self._model_dir or self.manager().ready_path()
        if path is None:
            self.open_models()
        else:
            self.load(Path(path))

    def _set_hotkeys(self) -> None:
        """App-wide shortcuts everywhere; system-wide too where the platform allows (Windows)."""
        hotkeys = self.settings.hotkeys
        self.actions.set_hotkeys(hotkeys)
        self.global_hotkeys.clear()
        self.global_hotkeys.register(hotkeys.pause, self.actions.pause.trigger)
        self.global_hotkeys.register(hotkeys.toggle_overlay, self.actions.show_overlay.trigger)

    def _set_overlay_option(self, name: str, value: Any) -> None:
        setattr(self.settings.overlay, name, value)
        self.overlay.apply_settings(self.settings.overlay)
        self._sync_actions()
        if self.settings_dialog is not None:
            self.settings_dialog.set_settings(self.settings)
        self._save_timer.start()

    def _grow_font(self, points: int) -> None:
        self._set_overlay_option("font_size",
                                 min(96, max(6, self.settings.overlay.font_size + points)))

    def _place_changed(self, screen: str, place: list) -> None:
        self.settings.overlay.places[screen] = place
        self.settings.overlay.last_screen = screen
        self._save_timer.start()

    def save_settings(self) -> None:
        try:
            settings_file.save(self.settings)
        except OSError as exc:
            self.window.statusBar().showMessage(str(exc), 8000)  # says which folder and why

    # -- quitting -------------------------------------------------------------------------------

    def quit(self) -> None:
        """Hide everything, then stop and save off the GUI thread; ``finished`` follows."""
        if self._quitting:
            return
        self._quitting = True
        self._save_timer.stop()
        self.save_settings()
        for window in (self.overlay, self.window, self.settings_dialog, self.model_dialog,
                       self.about_dialog):
            if window is not None:
                window.hide()
        if self.tray is not None:
            self.tray.hide()
        if self.model_dialog is not None:
            self.model_dialog.shutdown()
        self.global_hotkeys.clear()
        self.recorder.close()

    def wait_for_workers(self, ms: int) -> None:
        """After the event loop has ended: let the worker threads finish."""
        self.recorder.control.wait(ms)
        if self.model_dialog is not None:
            self.model_dialog.wait(ms)


def _engine_key(settings: Settings) -> tuple:
    """What selects the engine; a delay learnt by Test connection does not change it."""
    e = settings.engine
    return (e.kind, e.server_url, e.server_model, e.mistral_model)
