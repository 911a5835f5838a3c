"""A QGraphicsView that zooms with the wheel (around the cursor), pans with the middle button or
space+drag, and fits the scene to the window until the user zooms."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QWheelEvent
from PySide6.QtWidgets import QFrame, QGraphicsScene, QGraphicsView, QWidget

MIN_ZOOM = 0.02
MAX_ZOOM = 40.0
WHEEL_STEP = 1.2


class ZoomPanView(QGraphicsView):
    """Navigation only; subclasses add content and tools."""

    zoom_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setBackgroundBrush(QColor("#2b2d30"))
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._fit_mode = True
        self._space_down = False
        self._pan_from: QPointF | None = None

    # ------------------------------------------------------------------ zoom
    @property
    def zoom(self) -> float:
        return float(self.transform().m11())

    @property
    def fit_mode(self) -> bool:
        return self._fit_mode

    def fit(self) -> None:
        """Fit the whole scene in the window and keep fitting on resize until the next zoom."""
        self._fit_mode = True
        rect = self.sceneRect()
        if rect.isEmpty():
            return
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        self.zoom_changed.emit(self.zoom)

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom by ``factor`` keeping the scene point under viewport position ``anchor`` (default: the
        centre) where it is, as far as the scene's extent allows."""
        target = min(MAX_ZOOM, max(MIN_ZOOM, self.zoom * factor))
        if target == self.zoom:
            return
        self._fit_mode = False
        at = anchor if anchor is not None else QPointF(self.viewport().rect().center())
        fixed = self.mapToScene(at.toPoint())
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.scale(target / self.zoom, target / self.zoom)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        drift = QPointF(self.mapFromScene(fixed)) - at
        hbar, vbar = self.horizontalScrollBar(), self.verticalScrollBar()
        hbar.setValue(hbar.value() + round(drift.x()))
        vbar.setValue(vbar.value() + round(drift.y()))
        self.zoom_changed.emit(self.zoom)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(WHEEL_STEP**steps, event.position())
        event.accept()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fit_mode:
            self.fit()

    # ------------------------------------------------------------------ pan
    @property
    def panning(self) -> bool:
        return self._pan_from is not None

    def pan_press(self, event: QMouseEvent) -> bool:
        """Start panning on a middle press or a left press with space held; True when consumed."""
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (
            button == Qt.MouseButton.LeftButton and self._space_down
        ):
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return True
        return False

    def pan_move(self, event: QMouseEvent) -> bool:
        if self._pan_from is None:
            return False
        delta = event.position() - self._pan_from
        self._pan_from = event.position()
        self._fit_mode = False
        hbar, vbar = self.horizontalScrollBar(), self.verticalScrollBar()
        hbar.setValue(hbar.value() - round(delta.x()))
        vbar.setValue(vbar.value() - round(delta.y()))
        event.accept()
        return True

    def pan_release(self, event: QMouseEvent) -> bool:
        if self._pan_from is None:
            return False
        self._pan_from = None
        self.restore_cursor()
        event.accept()
        return True

    def restore_cursor(self) -> None:
        """Cursor when not panning (subclasses choose per tool)."""
        shape = Qt.CursorShape.OpenHandCursor if self._space_down else Qt.CursorShape.ArrowCursor
        self.viewport().setCursor(shape)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if not self.pan_press(event):
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if not self.pan_move(event):
            super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if not self.pan_release(event):
            super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self._space_down = True
                self.restore_cursor()
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self._space_down = False
                self.restore_cursor()
            event.accept()
            return
        super().keyReleaseEvent(event)
