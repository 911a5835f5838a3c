"""Small frame thumbnails, made lazily (one per event-loop turn) and cached."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import cv2
import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap

THUMB_HEIGHT = 40


def make_thumbnail(rgb: np.ndarray, height: int = THUMB_HEIGHT) -> QPixmap:
    h, w = rgb.shape[:2]
    width = max(1, round(w * height / max(1, h)))
    small = np.ascontiguousarray(cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA))
    image = QImage(small.data, width, height, small.strides[0], QImage.Format.Format_RGB888)
    return QPixmap.fromImage(image.copy())


class ThumbnailCache(QObject):
    """``get(frame)`` returns a cached thumbnail or None and queues it; ``ready(frame)`` says when it
    arrives. Frames are read through ``reader`` on the GUI thread, one per event-loop turn."""

    ready = Signal(int)

    def __init__(
        self, capacity: int = 256, height: int = THUMB_HEIGHT, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.height = height
        self._capacity = capacity
        self._reader: Callable[[int], np.ndarray] | None = None
        self._cache: OrderedDict[int, QPixmap] = OrderedDict()
        self._queue: list[int] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._make_next)

    def set_reader(self, reader: Callable[[int], np.ndarray] | None) -> None:
        """A new video: forget everything."""
        self._reader = reader
        self._cache.clear()
        self._queue.clear()

    def get(self, frame: int) -> QPixmap | None:
        pixmap = self._cache.get(frame)
        if pixmap is not None:
            self._cache.move_to_end(frame)
            return pixmap
        if self._reader is not None and frame not in self._queue:
            self._queue.append(frame)
            if not self._timer.isActive():
                self._timer.start()
        return None

    def _make_next(self) -> None:
        if not self._queue or self._reader is None:
            return
        frame = self._queue.pop(0)
        try:
            pixmap = make_thumbnail(self._reader(frame), self.height)
        except Exception:  # noqa: BLE001 - a thumbnail is decoration: leave it blank
            pixmap = QPixmap()
        self._cache[frame] = pixmap
        while len(self._cache) > self._capacity:
            self._cache.popitem(last=False)
        self.ready.emit(frame)
        if self._queue:
            self._timer.start()
