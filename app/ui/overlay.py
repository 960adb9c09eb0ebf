"""The caption overlay: a frameless, always-on-top, translucent strip of rolling captions.

Text arrives a few characters at a time and is only ever appended (see
:class:`app.ui.caption_lines.CaptionLines`); when a line fills, the lines roll up with a short
animation instead of jumping. The user drags it to move it, drags its left or right edge to
resize it, and its place is remembered per screen. After a silence it dims; it can be locked in
place or made click-through. Everything it shows comes from calls by the app controller, so it
knows nothing of the pipeline.
"""
from __future__ import annotations

import math
from dataclasses import replace

from PySide6.QtCore import (
    QEasingCurve,
    QPoint,
    QPointF,
    QRect,
    QRectF,
    Qt,
    QTimer,
    QVariantAnimation,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QFont,
    QFontMetricsF,
    QGuiApplication,
    QMouseEvent,
    QPainter,
    QPaintEvent,
)
from PySide6.QtWidgets import QMenu, QMessageBox, QWidget

from app.settings import OverlaySettings
from app.ui import placement
from app.ui.actions import AppActions
from app.ui.caption_lines import CaptionLine, CaptionLines
from app.ui.clickthrough import set_click_through

PAD = 12  # px around the text
EDGE = 8  # px from the left/right border where a drag resizes instead of moving
ROLL_MS = 180
DIMMED = 0.35  # how visible captions stay after a silence


class CaptionOverlay(QWidget):
    place_changed = Signal(str, list)  # screen key, [x, y, width, height] on that screen

    def __init__(self, settings: OverlaySettings, actions: AppActions | None = None) -> None:
        flags = (Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowStaysOnTopHint
                 | Qt.WindowType.Tool)
        super().__init__(None, flags)
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setWindowTitle("Captions")
        self.setAccessibleName("Captions overlay")
        self.setMouseTracking(True)
        self.setMinimumWidth(240)
        self._actions = actions
        self._settings = OverlaySettings()
        self._show_labels = False
        self._notice = ""
        self._status = ""
        self._drag: tuple[QPoint, QRect, Qt.Edge | None] | None = None
        self._watching_screen = False
        self._offset = 0.0  # px the newest lines still sit below their resting place
        self._dim = 1.0
        self._dimmed = False
        self._lines = CaptionLines(QFontMetricsF(QFont()).horizontalAdvance, 1.0)
        self._roll = self._animation(ROLL_MS, self._set_offset)
        self._fade = self._animation(600, self._set_dim)
        self._silence = QTimer(self, singleShot=True, timeout=self._dim_out)
        self._place_timer = QTimer(self, singleShot=True, interval=400, timeout=self._save_place)
        self.apply_settings(settings)

    # -- what the controller calls ---------------------------------------------------------

    def apply_settings(self, settings: OverlaySettings) -> None:
        old, self._settings = self._settings, replace(settings)
        font = QFont(settings.font_family) if settings.font_family else QFont()
        font.setPointSizeF(settings.font_size)
        self._font = font
        self._metrics = QFontMetricsF(font)
        small = QFont(font)
        small.setPointSizeF(max(8.0, settings.font_size * 0.45))
        self._small = small
        self._set_height(self._height())
        self._relayout()
        if old.click_through != settings.click_through:
            set_click_through(self, settings.click_through)
        self._update_cursor(None)
        if settings.dim_after_s <= 0 and self._dimmed:
            self._silence.stop()
            self._dimmed = False
            self._set_dim(1.0)
        self.update()

    def add_text(self, source: str, label: str, text: str) -> None:
        """Append what ``source`` said; ``label`` is shown when labels are on."""
        new_lines = self._lines.append(source, label if self._show_labels else "", text)
        if new_lines:
            start = self._offset + new_lines * self._metrics.lineSpacing()
            self._roll.stop()
            self._roll.setStartValue(start)
            self._roll.setEndValue(0.0)
            self._roll.start()
        self._wake()
        self.update()

    def set_labels(self, on: bool) -> None:
        """Show which source spoke (when two run); applies from the next speaker's turn."""
        self._show_labels = on

    def set_notice(self, text: str) -> None:
        """A state message ("Loading the model…", "Paused", an error); "" removes it.

        A long one may not fit the strip: its tooltip and the menu's "Whole message…" show it.
        """
        self._notice = text
        self.setToolTip(text)
        self.update()

    def show_notice(self) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, "Message", self._notice,
                          QMessageBox.StandardButton.Close, self)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.open()

    def set_status(self, text: str) -> None:
        self._status = text
        if self._settings.show_status:
            self.update()

    def clear(self) -> None:
        self._lines.clear()
        self.update()

    def visible_lines(self) -> list[str]:
        """The caption lines a viewer sees now, labels included, top to bottom."""
        return [line.prefix + line.text for line in self._lines.lines[-self._settings.lines:]]

    @property
    def dimmed(self) -> bool:
        return self._dimmed

    def restore_place(self) -> None:
        s = self._settings
        self.setGeometry(placement.restore_rect(s.places, s.last_screen, self.height()))

    def _set_height(self, height: int) -> None:
        """Grow or shrink upwards: the bottom edge stays where the user put it, on screen."""
        if height == self.height() and self.minimumHeight() == height:
            return
        g = self.geometry()
        bottom = g.bottom()
        self.setFixedHeight(height)
        g.setHeight(height)
        g.moveBottom(bottom)
        self.setGeometry(self._inside_screen(g))

    def _inside_screen(self, rect: QRect) -> QRect:
        screen = self.screen() or QGuiApplication.primaryScreen()
        return placement.inside(rect, screen) if screen is not None else rect

    def _keep_inside(self, *_: object) -> None:
        """After a screen change (another monitor, a new resolution) stay fully visible."""
        inside = self._inside_screen(self.geometry())
        if inside != self.geometry():
            self.setGeometry(inside)

    def showEvent(self, event) -> None:
        handle = self.windowHandle()
        if handle is not None and not self._watching_screen:
            self._watching_screen = True
            handle.screenChanged.connect(self._keep_inside)
            # The screen's own size can change too (a new resolution, a dock detached).
            handle.screenChanged.connect(self._watch_screen)
            self._watch_screen(handle.screen())
        super().showEvent(event)

    def _watch_screen(self, screen) -> None:
        if screen is not None:
            screen.availableGeometryChanged.connect(self._keep_inside)

    # -- layout and painting ----------------------------------------------------------------

    def _height(self) -> int:
        status = QFontMetricsF(self._small).lineSpacing() if self._settings.show_status else 0
        return math.ceil(2 * PAD + status + self._settings.lines * self._metrics.lineSpacing())

    def _relayout(self) -> None:
        self._lines.relayout(max(1.0, self.width() - 2 * PAD), self._metrics.horizontalAdvance)

    def resizeEvent(self, event) -> None:
        self._relayout()
        self._place_timer.start()
        super().resizeEvent(event)

    def moveEvent(self, event) -> None:
        self._place_timer.start()
        super().moveEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        s = self._settings
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        bg = QColor(s.background_color)
        bg.setAlphaF(s.opacity * (0.5 + 0.5 * self._dim))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(bg)
        p.drawRoundedRect(QRectF(self.rect()), 10, 10)
        area = QRectF(self.rect()).adjusted(PAD, PAD, -PAD, -PAD)
        top_line = self._status if s.show_status else ""
        if self._notice and (s.show_status or self._lines.lines):
            top_line = " · ".join(t for t in (self._notice, top_line) if t)
        if s.show_status:
            area.setTop(area.top() + QFontMetricsF(self._small).lineSpacing())
        if top_line:
            self._paint_small(p, top_line)
        if not self._lines.lines:
            self._paint_centered(p, area, self._notice)
            return
        self._paint_lines(p, area)

    def _paint_lines(self, p: QPainter, area: QRectF) -> None:
        p.setClipRect(area)
        p.setFont(self._font)
        spacing = self._metrics.lineSpacing()
        shown = self._settings.lines + math.ceil(self._offset / spacing)
        y = area.bottom() + self._offset - self._metrics.descent()
        for line in reversed(self._lines.lines[-shown:]):
            self._paint_line(p, QPointF(area.left(), y), line)
            y -= spacing

    def _paint_line(self, p: QPainter, at: QPointF, line: CaptionLine) -> None:
        text_colour = QColor(self._settings.text_color)
        text_colour.setAlphaF(self._dim)
        label_colour = QColor(text_colour)
        label_colour.setAlphaF(0.7 * self._dim)
        shadow = QColor(self._settings.background_color)
        shadow.setAlphaF(self._dim)
        x = at.x()
        for part, colour in ((line.prefix, label_colour), (line.text, text_colour)):
            if not part:
                continue
            # A thin shadow keeps the text readable over a bright window when the strip is clear.
            p.setPen(shadow)
            p.drawText(QPointF(x + 1, at.y() + 1), part)
            p.setPen(colour)
            p.drawText(QPointF(x, at.y()), part)
            x += self._metrics.horizontalAdvance(part)

    def _paint_small(self, p: QPainter, text: str) -> None:
        colour = QColor(self._settings.text_color)
        colour.setAlphaF(0.75 * self._dim)
        p.setFont(self._small)
        p.setPen(colour)
        rect = QRectF(self.rect()).adjusted(PAD, PAD / 2, -PAD, 0)
        p.drawText(rect, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignRight, text)

    def _paint_centered(self, p: QPainter, area: QRectF, text: str) -> None:
        colour = QColor(self._settings.text_color)
        colour.setAlphaF(0.7)
        p.setFont(self._font)
        p.setPen(colour)
        p.drawText(area, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)

    # -- animation and dimming --------------------------------------------------------------

    def _animation(self, ms: int, on_value) -> QVariantAnimation:
        animation = QVariantAnimation(self)
        animation.setDuration(ms)
        animation.setEasingCurve(QEasingCurve.Type.OutCubic)
        animation.valueChanged.connect(on_value)
        return animation

    def _set_offset(self, value: float) -> None:
        self._offset = float(value)
        self.update()

    def _set_dim(self, value: float) -> None:
        self._dim = float(value)
        self.update()

    def _fade_to(self, value: float, ms: int) -> None:
        self._fade.stop()
        self._fade.setDuration(ms)
        self._fade.setStartValue(self._dim)
        self._fade.setEndValue(value)
        self._fade.start()

    def _wake(self) -> None:
        if self._dimmed:
            self._dimmed = False
            self._fade_to(1.0, 150)
        if self._settings.dim_after_s > 0:
            self._silence.start(int(self._settings.dim_after_s * 1000))

    def _dim_out(self) -> None:
        self._dimmed = True
        self._fade_to(DIMMED, 600)

    # -- moving, resizing, menu -------------------------------------------------------------

    def _edge_at(self, pos: QPoint) -> Qt.Edge | None:
        if pos.x() < EDGE:
            return Qt.Edge.LeftEdge
        if pos.x() > self.width() - EDGE:
            return Qt.Edge.RightEdge
        return None

    def _update_cursor(self, pos: QPoint | None) -> None:
        if self._settings.locked or self._settings.click_through:
            self.unsetCursor()
        elif pos is not None and self._edge_at(pos) is not None:
            self.setCursor(Qt.CursorShape.SizeHorCursor)
        else:
            self.setCursor(Qt.CursorShape.SizeAllCursor)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._settings.locked:
            return
        edge = self._edge_at(event.position().toPoint())
        handle = self.windowHandle()
        # The window manager moves it best (and alone can on Wayland); by hand otherwise.
        system = handle is not None and (
            handle.startSystemResize(edge) if edge is not None else handle.startSystemMove())
        if not system:
            self._drag = (event.globalPosition().toPoint(), self.geometry(), edge)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag is None:
            self._update_cursor(event.position().toPoint())
            return
        start, geometry, edge = self._drag
        dx = event.globalPosition().toPoint().x() - start.x()
        dy = event.globalPosition().toPoint().y() - start.y()
        g = QRect(geometry)
        if edge == Qt.Edge.LeftEdge:
            g.setLeft(min(g.left() + dx, g.right() - self.minimumWidth()))
        elif edge == Qt.Edge.RightEdge:
            g.setRight(max(g.right() + dx, g.left() + self.minimumWidth()))
        else:
            g.translate(dx, dy)
        self.setGeometry(g)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag = None

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        if self._actions is None:
            return
        a = self._actions
        menu = QMenu(self)
        menu.setAccessibleName("Captions menu")
        if self._notice:
            menu.addAction("Whole &message…", self.show_notice)
            menu.addSeparator()
        menu.addActions([a.pause, a.lock, a.click_through, a.show_status])
        menu.addSeparator()
        menu.addActions([a.bigger, a.smaller])
        menu.addSeparator()
        menu.addActions([a.open_transcript, a.settings, a.models, a.show_overlay])
        menu.addSeparator()
        menu.addAction(a.quit)
        menu.exec(event.globalPos())

    def _save_place(self) -> None:
        screen = self.screen() or QGuiApplication.primaryScreen()
        if self.isVisible() and screen is not None:
            self.place_changed.emit(placement.screen_key(screen),
                                    placement.to_place(screen, self.geometry()))
