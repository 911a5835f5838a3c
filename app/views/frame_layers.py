"""The canvas scene's images: the frame, the mask overlay, and the second copy for side by side."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QGraphicsScene

from app.views import overlay
from app.views.image_item import ImageItem
from app.views.overlay import OverlayMode

Box = tuple[int, int, int, int]


class FrameLayers:
    """Owns four image items in ``scene`` and renders label maps into the overlay (numpy, vectorised).
    In side by side the plain frame is on the left and the overlaid copy on the right."""

    def __init__(self, scene: QGraphicsScene) -> None:
        self.scene = scene
        self.rgb: np.ndarray | None = None
        self.mode = OverlayMode.FILL
        self.opacity = 0.5
        self._colours: dict[int, tuple[int, int, int]] = {}
        self._visible: set[int] = set()
        self._table = overlay.colour_table({}, (), 0)
        self._frame = ImageItem()
        self._overlay = ImageItem()
        self._frame2 = ImageItem()
        self._overlay2 = ImageItem()
        for z, item in enumerate(self._items):
            item.setZValue(z)
            scene.addItem(item)

    @property
    def _items(self) -> tuple[ImageItem, ...]:
        return self._frame, self._overlay, self._frame2, self._overlay2

    @property
    def overlay_array(self) -> np.ndarray | None:
        """The RGBA overlay on screen (for tests and diagnostics)."""
        return self._target().array

    @property
    def right_offset(self) -> float:
        """Scene x of the right half in side by side (0 otherwise)."""
        if self.mode is not OverlayMode.SIDE_BY_SIDE or self.rgb is None:
            return 0.0
        w = self.rgb.shape[1]
        return float(w + overlay.side_by_side_gap(w))

    def set_frame(self, rgb: np.ndarray | None) -> None:
        self.rgb = None if rgb is None else np.ascontiguousarray(rgb)
        if self.rgb is None:
            for item in self._items:
                item.set_array(None)
            self.scene.setSceneRect(QRectF())
            return
        self._frame.set_array(self.rgb)
        self._layout()

    def set_mode(self, mode: OverlayMode) -> bool:
        """True when the scene's layout changed (to or from side by side)."""
        relayout = (mode is OverlayMode.SIDE_BY_SIDE) != (self.mode is OverlayMode.SIDE_BY_SIDE)
        self.mode = mode
        self._update_table()
        if relayout:
            self._layout()
        return relayout

    def set_opacity(self, opacity: float) -> None:
        self.opacity = float(np.clip(opacity, 0.0, 1.0))
        self._update_table()

    def set_objects(self, colours: Mapping[int, tuple[int, int, int]], visible: set[int]) -> None:
        self._colours, self._visible = dict(colours), set(visible)
        self._update_table()

    def _update_table(self) -> None:
        self._table = overlay.colour_table(self._colours, self._visible, round(self.opacity * 255))

    def _layout(self) -> None:
        if self.rgb is None:
            return
        h, w = self.rgb.shape[:2]
        side = self.mode is OverlayMode.SIDE_BY_SIDE
        offset = w + overlay.side_by_side_gap(w)
        self._frame2.set_array(self.rgb if side else None)
        self._frame2.setPos(offset, 0)
        self._overlay2.setPos(offset, 0)
        self._overlay.setVisible(not side)
        self._overlay2.setVisible(side)
        if side:
            self._overlay.set_array(None)
        else:
            self._overlay2.set_array(None)
        self.scene.setSceneRect(QRectF(0, 0, offset + w if side else w, h))

    def _target(self) -> ImageItem:
        return self._overlay2 if self.mode is OverlayMode.SIDE_BY_SIDE else self._overlay

    def render(self, labels: np.ndarray | None) -> None:
        """Draw ``labels`` (None: no mask) over the whole frame."""
        if self.rgb is None:
            return
        h, w = self.rgb.shape[:2]
        shown = labels if labels is not None else np.zeros((h, w), np.uint8)
        line = overlay.contour_width(w)
        self._target().set_array(overlay.render(shown, self._table, self.mode, line))

    def render_box(self, labels: np.ndarray, box: Box) -> None:
        """Redraw only ``box`` (x0, y0, x1, y1) of the overlay: cheap updates during a stroke."""
        if self.rgb is None:
            return
        line = overlay.contour_width(labels.shape[1])
        region = overlay.render_region(labels, self._table, self.mode, box, line)
        self._target().write(region, box[0], box[1])
