"""Timeline: a slider with marks (annotated frames, which of them are references, propagated extent,
low-confidence frames), a frame spin box, play/pause at the video's frame rate and single-frame
steps."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QPoint, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QContextMenuEvent, QMouseEvent, QPainter, QPaintEvent, QPolygon
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QSlider,
    QSpinBox,
    QStyle,
    QStyleOptionSlider,
    QToolButton,
    QWidget,
)

from app.resources import MARK_ANNOTATED, MARK_LOW_CONFIDENCE, MARK_PROPAGATED, icon

SNAP_PIXELS = 5
#: a user frame kept out of memory ("not a reference"): a hollow mark in this colour
MARK_NOT_REFERENCE = QColor("#9e9e9e")
#: a reviewed frame (checked, or an edit that is no correction; not a reference): a teal dot
MARK_REVIEWED = QColor("#00897b")
#: the frames the last run changed: a thin bar above the groove
MARK_CHANGED = QColor("#ef6c00")


def runs(frames: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted frames -> inclusive (first, last) runs of consecutive frames."""
    out: list[tuple[int, int]] = []
    for f in sorted(set(frames)):
        if out and f == out[-1][1] + 1:
            out[-1] = (out[-1][0], f)
        else:
            out.append((f, f))
    return out


class MarkedSlider(QSlider):
    """A horizontal frame slider that draws marks; a click jumps to the frame under the mouse, or to a
    mark within a few pixels of it. The context menu of a user frame's mark has "Use as reference"
    (``reference_toggled(frame, use)``)."""

    reference_toggled = Signal(int, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setMinimumHeight(34)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setPageStep(10)
        self.annotated: list[int] = []
        self.references: set[int] = set()
        self.reviewed: set[int] = set()
        self.propagated: list[tuple[int, int]] = []
        self.low_confidence: list[int] = []
        self.changed: list[tuple[int, int]] = []  # runs of frames the last run changed
        self._dragging = False

    def set_marks(
        self,
        annotated: Iterable[int],
        propagated: Iterable[int],
        low: Iterable[int],
        references: Iterable[int] | None = None,
        reviewed: Iterable[int] = (),
    ) -> None:
        """``references``: the annotated frames that are references (default: all of them);
        ``reviewed``: the annotated frames that are reviewed, not corrected."""
        self.annotated = sorted(set(annotated))
        self.references = set(self.annotated if references is None else references)
        self.reviewed = set(reviewed) - self.references
        self.propagated = runs(propagated)
        self.low_confidence = sorted(set(low))
        self.update()

    def set_changed(self, frames: Iterable[int]) -> None:
        """The frames the last run changed (drawn until the next run's)."""
        self.changed = runs(frames)
        self.update()

    def _groove(self) -> QRect:
        option = QStyleOptionSlider()
        self.initStyleOption(option)
        return self.style().subControlRect(
            QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderGroove, self
        )

    def _handle_width(self) -> int:
        option = QStyleOptionSlider()
        self.initStyleOption(option)
        handle = self.style().subControlRect(
            QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderHandle, self
        )
        return handle.width()

    def x_of(self, frame: int) -> int:
        """Pixel column of ``frame``'s centre."""
        groove = self._groove()
        half = self._handle_width() // 2
        span = max(1, groove.width() - 2 * half)
        pos = QStyle.sliderPositionFromValue(self.minimum(), self.maximum(), frame, span)
        return groove.x() + half + pos

    def frame_at(self, x: float) -> int:
        groove = self._groove()
        half = self._handle_width() // 2
        span = max(1, groove.width() - 2 * half)
        return QStyle.sliderValueFromPosition(
            self.minimum(), self.maximum(), round(x - groove.x() - half), span
        )

    def snap(self, x: float) -> int:
        """The frame under ``x``, or the nearest mark within ``SNAP_PIXELS``."""
        best, best_d = self.frame_at(x), SNAP_PIXELS + 1.0
        for frame in (*self.annotated, *self.low_confidence):
            d = abs(self.x_of(frame) - x)
            if d < best_d:
                best, best_d = frame, d
        return best

    def reference_menu(self, frame: int) -> QMenu | None:
        """The context menu of ``frame``'s mark (None when it is no user frame)."""
        if frame not in self.annotated:
            return None
        menu = QMenu(self)
        action = menu.addAction(f"Use frame {frame} as reference")
        action.setCheckable(True)
        action.setChecked(frame in self.references)
        action.toggled.connect(lambda use: self.reference_toggled.emit(frame, use))
        return menu

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        menu = self.reference_menu(self.snap(event.pos().x()))
        if menu is None:
            super().contextMenuEvent(event)
            return
        menu.exec(event.globalPos())
        menu.deleteLater()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._dragging = True
            self.setValue(self.snap(event.position().x()))
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._dragging:
            self.setValue(self.frame_at(event.position().x()))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._dragging and event.button() == Qt.MouseButton.LeftButton:
            self._dragging = False
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        groove = self._groove()
        mid = groove.center().y()
        for first, last in self.propagated:
            x0, x1 = self.x_of(first), self.x_of(last)
            painter.fillRect(QRect(x0 - 1, mid + 5, max(2, x1 - x0 + 2), 4), MARK_PROPAGATED)
        for first, last in self.changed:
            x0, x1 = self.x_of(first), self.x_of(last)
            painter.fillRect(QRect(x0 - 1, mid - 4, max(2, x1 - x0 + 2), 3), MARK_CHANGED)
        for frame in self.low_confidence:
            painter.fillRect(QRect(self.x_of(frame) - 1, mid + 3, 2, 9), MARK_LOW_CONFIDENCE)
        for frame in self.annotated:
            x = self.x_of(frame)
            if frame in self.references:  # a reference: a solid triangle pointing at the frame
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(MARK_ANNOTATED)
                painter.drawPolygon(QPolygon([QPoint(x - 4, mid - 14), QPoint(x + 5, mid - 14),
                                              QPoint(x, mid - 5)]))  # fmt: skip
            elif frame in self.reviewed:  # reviewed, not corrected: a dot
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(MARK_REVIEWED)
                painter.drawEllipse(QPoint(x, mid - 9), 4, 4)
            else:  # a user mask kept out of memory: a hollow tick
                painter.setPen(MARK_NOT_REFERENCE)
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRect(QRect(x - 2, mid - 13, 4, 8))
        painter.end()
        super().paintEvent(event)


class Timeline(QWidget):
    """Frame navigation. ``frame_requested`` asks the owner to show a frame; ``set_frame`` updates the
    controls without emitting."""

    frame_requested = Signal(int)
    playing_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._count = 0
        self._fps = 25.0
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self.back = self._button("step_backward", "Previous frame (Left; Shift+Left: 10 back)")
        self.play = self._button("play", "Play / pause (P)")
        self.play.setCheckable(True)
        self.forward = self._button("step_forward", "Next frame (Right; Shift+Right: 10 ahead)")
        self.slider = MarkedSlider(self)
        self.slider.setToolTip(
            "Green triangle: a reference (your mask, a permanent memory entry) · grey box: your "
            "mask, not used as a reference · teal dot: reviewed (checked, kept as it is, not a "
            "reference) · blue: propagated · orange: changed by the last run · red: low confidence, "
            "worth checking. Click a mark to jump to it; right-click your mark to use it as a "
            "reference or not."
        )
        self.spin = QSpinBox(self)
        self.spin.setKeyboardTracking(False)
        self.spin.setToolTip("Frame number")
        self.spin.setMinimumWidth(72)
        self.total = QLabel("/ 0", self)
        self.total.setMinimumWidth(48)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.setSpacing(4)
        for widget in (self.back, self.play, self.forward):
            layout.addWidget(widget)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)
        layout.addWidget(self.total)
        self.back.clicked.connect(lambda: self.step(-1))
        self.forward.clicked.connect(lambda: self.step(1))
        self.play.toggled.connect(self.set_playing)
        self.slider.valueChanged.connect(self._request)
        self.spin.valueChanged.connect(self._request)
        self.set_count(0)

    def _button(self, icon_name: str, tip: str) -> QToolButton:
        button = QToolButton(self)
        button.setIcon(icon(icon_name))
        button.setIconSize(QSize(16, 16))
        button.setToolTip(tip)
        button.setAutoRaise(True)
        return button

    # ------------------------------------------------------------------ state
    @property
    def frame(self) -> int:
        return self.slider.value()

    @property
    def count(self) -> int:
        return self._count

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def set_count(self, count: int, fps: float = 25.0) -> None:
        self.set_playing(False)
        self._count = max(0, int(count))
        self._fps = fps if fps and fps > 0 else 25.0
        last = max(0, self._count - 1)
        for w in (self.slider, self.spin):
            w.blockSignals(True)
            w.setRange(0, last)
            w.setValue(0)
            w.blockSignals(False)
        self.total.setText(f"/ {last}")
        self.slider.set_marks((), (), ())
        self.slider.set_changed(())
        self.setEnabled(self._count > 0)

    def set_frame(self, frame: int) -> None:
        for w in (self.slider, self.spin):
            w.blockSignals(True)
            w.setValue(frame)
            w.blockSignals(False)

    def set_marks(
        self,
        annotated: Iterable[int],
        propagated: Iterable[int],
        low: Iterable[int],
        references: Iterable[int] | None = None,
        reviewed: Iterable[int] = (),
    ) -> None:
        self.slider.set_marks(annotated, propagated, low, references, reviewed)

    def set_changed(self, frames: Iterable[int]) -> None:
        """Mark the frames the last run changed."""
        self.slider.set_changed(frames)

    # ------------------------------------------------------------------ navigation
    def _request(self, frame: int) -> None:
        if 0 <= frame < self._count:
            self.set_frame(frame)
            self.frame_requested.emit(frame)

    def go_to(self, frame: int) -> None:
        self._request(max(0, min(self._count - 1, frame)))

    def step(self, delta: int) -> None:
        self.go_to(self.frame + delta)

    def home(self) -> None:
        self.go_to(0)

    def end(self) -> None:
        self.go_to(self._count - 1)

    def toggle_play(self) -> None:
        self.set_playing(not self.playing)

    def set_playing(self, playing: bool) -> None:
        playing = bool(playing) and self._count > 1
        if playing == self._timer.isActive():
            self._sync_play_button(playing)
            return
        if playing:
            if self.frame >= self._count - 1:
                self.go_to(0)
            self._timer.start(max(1, round(1000.0 / self._fps)))
        else:
            self._timer.stop()
        self._sync_play_button(playing)
        self.playing_changed.emit(playing)

    def _sync_play_button(self, playing: bool) -> None:
        self.play.blockSignals(True)
        self.play.setChecked(playing)
        self.play.setIcon(icon("pause" if playing else "play"))
        self.play.blockSignals(False)

    def _tick(self) -> None:
        if self.frame >= self._count - 1:
            self.set_playing(False)
        else:
            self.step(1)
