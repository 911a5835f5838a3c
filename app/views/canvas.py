"""The frame canvas: shows a frame with its mask overlay and runs the editing tools.

The canvas never writes masks itself: a finished edit is emitted as
``edit_finished(frame, before, after, text)`` and the owner turns it into an undoable command."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from PySide6.QtCore import QEvent, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QKeyEvent, QMouseEvent, QPainter
from PySide6.QtWidgets import QWidget

from app.views.box_session import BoxSegmentation
from app.views.click_session import ClickSegmentation
from app.views.frame_layers import FrameLayers
from app.views.overlay import OverlayMode
from app.views.tool_marks import ToolMarks
from app.views.tools import Box, Tool, ToolKind, fill_holes, make_tool
from app.views.zoom_view import ZoomPanView

MIN_BRUSH, MAX_BRUSH = 1, 200
_KEYS = {
    Qt.Key.Key_Return: "enter",
    Qt.Key.Key_Enter: "enter",
    Qt.Key.Key_Escape: "escape",
    Qt.Key.Key_Backspace: "backspace",
}


class MaskCanvas(ZoomPanView):
    """Frame + overlay view with brush, eraser, polygon, box and click tools."""

    edit_finished = Signal(int, object, object, str)  # frame, labels before (or None), after, text
    message = Signal(str)
    hover = Signal(int, int, int)  # x, y, label under the cursor (-1, -1, 0 outside the frame)
    brush_size_changed = Signal(int)
    tool_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.frame_index = -1
        self.active_object = 1
        self.brush_size = 15
        self._labels: np.ndarray | None = None
        self._shown: np.ndarray | None = None  # labels on screen (an edit in progress or _labels)
        self._tool: Tool = make_tool(ToolKind.BRUSH)
        self._on_right = False  # side by side: the tool works on the right half
        self.layers = FrameLayers(self.scene())
        self.marks = ToolMarks(self.scene(), self.tool_offset)
        self._boxing = BoxSegmentation(self, self)
        self._clicking = ClickSegmentation(self, self)
        self.restore_cursor()

    # ------------------------------------------------------------------ content
    @property
    def rgb(self) -> np.ndarray | None:
        """H×W×3 uint8 frame on screen (None: no frame)."""
        return self.layers.rgb

    @property
    def has_frame(self) -> bool:
        return self.rgb is not None

    @property
    def labels(self) -> np.ndarray | None:
        """Labels on screen (including an edit in progress)."""
        return self._shown

    @property
    def frame_labels(self) -> np.ndarray | None:
        """H×W uint8 labels of the frame on screen as last set or edited, without an edit in
        progress (None: the frame has none)."""
        return self._labels

    @property
    def editing(self) -> bool:
        return self._tool.editing or self._boxing.busy or self._clicking.busy

    @property
    def tool(self) -> ToolKind:
        return self._tool.kind

    @property
    def overlay_mode(self) -> OverlayMode:
        return self.layers.mode

    def set_frame(self, index: int, rgb: np.ndarray, labels: np.ndarray | None) -> None:
        """Show frame ``index``; an edit in progress on another frame is cancelled."""
        if index != self.frame_index:
            self.cancel_tool()
        first = self.rgb is None or self.rgb.shape != rgb.shape
        self.frame_index = index
        self.layers.set_frame(rgb)
        self._labels = None if labels is None else np.asarray(labels, dtype=np.uint8)
        self._shown = self._labels
        self.layers.render(self._shown)
        if first:
            self.fit()

    def clear(self) -> None:
        """Show nothing (no video open)."""
        self.cancel_tool()
        self.frame_index = -1
        self._labels = self._shown = None
        self.layers.set_frame(None)
        self.viewport().update()

    def set_labels(self, labels: np.ndarray | None) -> None:
        """New labels of the frame on screen (undo, propagation, ...). An edit in progress keeps its
        own copy and is drawn until it finishes."""
        self._labels = None if labels is None else np.asarray(labels, dtype=np.uint8)
        if not self._tool.editing:
            self._shown = self._labels
            self._render_all()
        self._clicking.sync_marks()  # an undone click loses its marker

    def set_objects(self, colours: Mapping[int, tuple[int, int, int]], visible: set[int]) -> None:
        self.layers.set_objects(colours, visible)
        self._render_all()

    def set_overlay(self, mode: OverlayMode | str, opacity: float | None = None) -> None:
        if opacity is not None:
            self.layers.set_opacity(opacity)
        relayout = self.layers.set_mode(OverlayMode(mode))
        self._render_all()
        if relayout:
            self.fit()

    def _render_all(self) -> None:
        self.layers.render(self._shown)

    def _render_box(self, box: Box) -> None:
        if self._shown is not None:
            self.layers.render_box(self._shown, box)

    # ------------------------------------------------------------------ tools
    def set_tool(self, kind: ToolKind | str) -> None:
        kind = ToolKind(kind)
        if kind == self._tool.kind:
            return
        self.cancel_tool()
        self._tool = make_tool(kind)
        self.marks.hide_cursor()
        self.restore_cursor()
        self.tool_changed.emit(kind.value)

    def set_active_object(self, object_id: int) -> None:
        self.active_object = int(object_id)

    def set_brush_size(self, size: int) -> None:
        size = int(np.clip(size, MIN_BRUSH, MAX_BRUSH))
        if size != self.brush_size:
            self.brush_size = size
            self.marks.resize_cursor(size)
            self.brush_size_changed.emit(size)

    def grow_brush(self, steps: int) -> None:
        """``[`` / ``]``: about 15% smaller / bigger per step (at least one pixel)."""
        size = self.brush_size
        for _ in range(abs(steps)):
            change = max(1, round(size * 0.15))
            size = size + change if steps > 0 else size - change
        self.set_brush_size(size)

    def cancel_tool(self) -> None:
        if self._tool.editing:
            self._tool.cancel(self)
        self._boxing.cancel()
        self.reset_clicks()

    def clear_frame(self) -> None:
        """Remove every object's mask from the frame on screen (one undoable edit)."""
        if self.rgb is None or self._labels is None or not self._labels.any():
            return
        self.finish_edit(np.zeros_like(self._labels), "Clear frame")

    def fill_active_holes(self) -> None:
        """Fill the background holes inside the active object's mask."""
        if self._labels is None:
            return
        filled = fill_holes(self._labels, self.active_object)
        if np.array_equal(filled, self._labels):
            self.message.emit("No holes to fill in the active object's mask")
            return
        self.finish_edit(filled, "Fill holes")

    # ToolHost --------------------------------------------------------
    def labels_for_edit(self) -> np.ndarray | None:
        if self.rgb is None:
            return None
        if self._labels is None:
            return np.zeros(self.rgb.shape[:2], dtype=np.uint8)
        return self._labels.copy()

    def preview_labels(self, labels: np.ndarray, box: Box | None) -> None:
        self._shown = labels
        if box is None:
            self._render_all()
        else:
            self._render_box(box)

    def finish_edit(self, labels: np.ndarray, text: str) -> None:
        before = None if self._labels is None else self._labels.copy()
        self._labels = labels
        self._shown = labels
        self._render_all()
        if before is not None and np.array_equal(before, labels):
            return
        if before is None and not labels.any():
            return
        self.edit_finished.emit(self.frame_index, before, labels.copy(), text)

    def cancel_edit(self) -> None:
        self._shown = self._labels
        self._render_all()

    def show_path(self, points: list[tuple[float, float]], closed: bool) -> None:
        self.marks.show_path(points, closed)

    def show_box(self, box: Box | None) -> None:
        self.marks.show_box(box)

    def request_box_mask(self, box: Box) -> None:
        self._boxing.start(box)

    # click segmentation (app.views.click_session) ---------------------
    def request_click(self, x: float, y: float, positive: bool) -> None:
        self._clicking.click(x, y, positive)

    def request_click_box(self, box: Box) -> None:
        self._clicking.start_box(box)

    def reset_clicks(self) -> None:
        self._clicking.reset()

    def wait_idle(self, timeout_ms: int = 5000) -> bool:
        """Wait for a box or click segmentation running in the background (used on close)."""
        return self._boxing.wait(timeout_ms) and self._clicking.wait(timeout_ms)

    # ------------------------------------------------------------------ events
    def tool_offset(self) -> float:
        """Scene x of the frame half the tool works on (the right half of side by side, else 0)."""
        return self.layers.right_offset if self._on_right else 0.0

    def _image_pos(self, event: QMouseEvent) -> tuple[float, float]:
        """Image coordinates under the mouse (the right half of side by side maps onto the left)."""
        p = self.mapToScene(event.position().toPoint())
        x, y = p.x(), p.y()
        offset = self.layers.right_offset
        if not self._tool.editing:
            width = self.rgb.shape[1] if self.rgb is not None else 0
            self._on_right = offset > 0 and x >= (offset + width) / 2  # past the gap's middle
        if self._on_right:
            x -= offset
        return x, y

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus()
        if self.pan_press(event):
            return
        if event.button() == Qt.MouseButton.RightButton and self._tool.editing:
            self.cancel_tool()
        elif event.button() == Qt.MouseButton.RightButton and self.rgb is not None:
            self._tool.right_press(self, *self._image_pos(event))
        elif event.button() == Qt.MouseButton.LeftButton and self.rgb is not None:
            self._tool.press(self, *self._image_pos(event))
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self.pan_move(event):
            return
        if self.rgb is None:
            return
        x, y = self._image_pos(event)
        self._tool.move(self, x, y)
        self._update_cursor(x, y)
        self._emit_hover(x, y)
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self.pan_release(event):
            return
        if event.button() == Qt.MouseButton.LeftButton and self.rgb is not None:
            self._tool.release(self, *self._image_pos(event))
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rgb is not None:
            self._tool.double_click(self, *self._image_pos(event))
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        name = _KEYS.get(Qt.Key(event.key()))
        if name is not None and self._tool.key(self, name):
            event.accept()
            return
        super().keyPressEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        self.marks.hide_cursor()
        self.hover.emit(-1, -1, 0)
        super().leaveEvent(event)

    def _update_cursor(self, x: float, y: float) -> None:
        if self._tool.kind in (ToolKind.BRUSH, ToolKind.ERASER):
            self.marks.show_cursor(x, y, self.brush_size)

    def _emit_hover(self, x: float, y: float) -> None:
        if self.rgb is None:
            return
        h, w = self.rgb.shape[:2]
        xi, yi = int(np.floor(x)), int(np.floor(y))
        if 0 <= xi < w and 0 <= yi < h:
            label = int(self._shown[yi, xi]) if self._shown is not None else 0
            self.hover.emit(xi, yi, label)
        else:
            self.hover.emit(-1, -1, 0)

    def restore_cursor(self) -> None:
        if self.panning:
            return
        if self._space_down:
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
        else:
            self.viewport().setCursor(Qt.CursorShape.CrossCursor)

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        if self.rgb is not None:
            return
        painter.save()
        painter.resetTransform()
        painter.setPen(QColor("#c9ccd1"))
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.3)
        painter.setFont(font)
        painter.drawText(
            self.viewport().rect(),
            Qt.AlignmentFlag.AlignCenter,
            "Open a video or a folder of frames\n(File ▸ Open, Ctrl+O) or drop it here",
        )
        painter.restore()
