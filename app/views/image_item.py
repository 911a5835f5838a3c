"""A graphics item that draws a numpy image (RGB or RGBA) without converting it to a QPixmap."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget


def to_qimage(array: np.ndarray) -> QImage:
    """A QImage sharing ``array``'s memory (H×W×3 RGB or H×W×4 RGBA uint8, C-contiguous).
    The caller keeps ``array`` alive for as long as the image is used."""
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ValueError(f"expected H×W×3 or H×W×4 uint8, got {array.shape} {array.dtype}")
    h, w, c = array.shape
    fmt = QImage.Format.Format_RGB888 if c == 3 else QImage.Format.Format_RGBA8888
    return QImage(array.data, w, h, array.strides[0], fmt)


class ImageItem(QGraphicsItem):
    """Draws an H×W×C uint8 array at the item's origin, one scene unit per pixel.

    ``write(region, x, y)`` updates part of the image in place and repaints only that part, which keeps
    brush strokes cheap on large frames."""

    def __init__(self, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self._array: np.ndarray | None = None
        self._image: QImage | None = None

    @property
    def array(self) -> np.ndarray | None:
        return self._array

    def set_array(self, array: np.ndarray | None) -> None:
        old = self.boundingRect()
        if array is None:
            self._array, self._image = None, None
        else:
            self._array = np.ascontiguousarray(array)
            self._image = to_qimage(self._array)
        new = self.boundingRect()
        if old != new:
            self.prepareGeometryChange()
        self.update()

    def write(self, region: np.ndarray, x: int, y: int) -> None:
        """Copy ``region`` into the image at column ``x``, row ``y`` and repaint that rectangle."""
        if self._array is None:
            return
        h, w = region.shape[:2]
        self._array[y : y + h, x : x + w] = region
        self.update(QRectF(x, y, w, h))

    def boundingRect(self) -> QRectF:
        if self._array is None:
            return QRectF()
        return QRectF(0, 0, self._array.shape[1], self._array.shape[0])

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        if self._image is None:
            return
        scale = painter.worldTransform().m11()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, scale < 1.0)
        exposed = option.exposedRect.toAlignedRect().intersected(self._image.rect())
        if exposed.isEmpty():
            return
        painter.drawImage(exposed, self._image, exposed)
