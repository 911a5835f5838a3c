"""What the tools draw over the frame: the brush outline, the polygon being built, the box being
dragged and the click markers. Positions are image coordinates; side by side, they are drawn on the
half the tool works on (``offset()``, the scene x of that half)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsPathItem, QGraphicsRectItem, QGraphicsScene

from app.views.tools import Box

CLICK_RADIUS = 3.0


def _cosmetic(colour: str, width: float, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(QColor(colour), width, style)
    pen.setCosmetic(True)  # the same width at every zoom
    return pen


class ToolMarks:
    """The scene items of the tools, above the frame and its overlay."""

    def __init__(self, scene: QGraphicsScene, offset: Callable[[], float]) -> None:
        self._scene = scene
        self._offset = offset
        self._cursor = QGraphicsEllipseItem()
        self._cursor.setPen(_cosmetic("#ffffff", 1.5))
        self._cursor.setZValue(10)
        self._cursor.hide()
        dashed = _cosmetic("#ffeb3b", 2, Qt.PenStyle.DashLine)
        self._path = QGraphicsPathItem()
        self._path.setPen(dashed)
        self._path.setZValue(11)
        self._box = QGraphicsRectItem()
        self._box.setPen(dashed)
        self._box.setZValue(11)
        self._box.hide()
        for item in (self._cursor, self._path, self._box):
            scene.addItem(item)
        self._clicks: list[QGraphicsEllipseItem] = []

    # brush outline ----------------------------------------------------
    def show_cursor(self, x: float, y: float, size: int) -> None:
        """The brush outline, ``size`` pixels across, centred on image point (x, y)."""
        self._cursor.setRect(self._circle(x + self._offset(), y, size / 2))
        self._cursor.show()

    def resize_cursor(self, size: int) -> None:
        centre = self._cursor.rect().center()
        self._cursor.setRect(self._circle(centre.x(), centre.y(), size / 2))

    def hide_cursor(self) -> None:
        self._cursor.hide()

    # polygon and box --------------------------------------------------
    def show_path(self, points: list[tuple[float, float]], closed: bool) -> None:
        """The polygon being built (an empty list hides it)."""
        path = QPainterPath()
        if points:
            offset = self._offset()
            path.addPolygon(QPolygonF([QPointF(x + offset, y) for x, y in points]))
            if closed:
                path.closeSubpath()
        self._path.setPath(path)

    def show_box(self, box: Box | None) -> None:
        """The box being dragged (None hides it)."""
        if box is None:
            self._box.hide()
            return
        x0, y0, x1, y1 = box
        self._box.setRect(QRectF(x0 + self._offset(), y0, x1 - x0, y1 - y0))
        self._box.show()

    # click markers ----------------------------------------------------
    def add_click(self, x: float, y: float, positive: bool) -> None:
        """A green (positive) or red (negative) dot at image point (x, y)."""
        item = QGraphicsEllipseItem(self._circle(x + self._offset(), y, CLICK_RADIUS))
        item.setPen(_cosmetic("#000000" if positive else "#ffffff", 1))
        item.setBrush(QColor("#4caf50" if positive else "#f44336"))
        item.setZValue(12)
        self._scene.addItem(item)
        self._clicks.append(item)

    def clear_clicks(self) -> None:
        self.keep_clicks(0)

    def keep_clicks(self, count: int) -> None:
        """Keep the markers of the first ``count`` clicks (e.g. after an undo), drop the others."""
        for item in self._clicks[count:]:
            self._scene.removeItem(item)
        del self._clicks[count:]

    @property
    def click_count(self) -> int:
        return len(self._clicks)

    @staticmethod
    def _circle(cx: float, cy: float, r: float) -> QRectF:
        return QRectF(cx - r, cy - r, 2 * r, 2 * r)
