"""Box to mask on the canvas: GrabCut of the dragged box runs in the background
(:class:`~app.workers.grabcut.GrabCutRunner`); its result replaces the active object's pixels inside
the box as one undoable edit, unless the frame changed meanwhile. When GrabCut finds no object in the
box (or fails) the user is told and the mask stays as it was."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject

from app.views.edit_host import EditHost
from app.views.tools import Box
from app.workers.grabcut import GrabCutRunner, box_mask

NOT_FOUND = (
    "GrabCut found no object in the box; the mask is unchanged. Drag a box with some background "
    "around the object, or use the Click tool (C)."
)


class BoxSegmentation:
    """The canvas's box tool back end (the canvas forwards its ToolHost box requests)."""

    def __init__(self, canvas: EditHost, parent: QObject) -> None:
        self._canvas = canvas
        self._runner = GrabCutRunner(parent)
        self._runner.finished.connect(self._on_mask)
        self._runner.failed.connect(self._on_failed)
        self._pending: tuple[int, int, Box, int] | None = None  # token, frame, box, object

    @property
    def busy(self) -> bool:
        """A box is being segmented and its result will be applied."""
        return self._pending is not None

    def start(self, box: Box) -> None:
        rgb = self._canvas.rgb
        if rgb is None:
            return
        token = self._runner.start(rgb, box)
        self._pending = (token, self._canvas.frame_index, box, self._canvas.active_object)
        self._canvas.message.emit("Segmenting the box…")

    def cancel(self) -> None:
        """Drop the result of the box in flight (the computation itself finishes unseen)."""
        self._pending = None

    def wait(self, timeout_ms: int = 5000) -> bool:
        return self._runner.wait(timeout_ms)

    def _on_mask(self, token: int, mask: np.ndarray) -> None:
        pending = self._pending
        if pending is None or pending[0] != token:
            return
        self._pending = None
        _, frame, box, object_id = pending
        if frame != self._canvas.frame_index or self._canvas.rgb is None:
            self._canvas.message.emit("Box result dropped: the frame changed")
            return
        if not mask.any():
            self._canvas.message.emit(NOT_FOUND)
            self._canvas.cancel_edit()
            return
        labels = self._canvas.labels_for_edit()
        assert labels is not None
        inside = box_mask(labels.shape, box)
        labels[inside & (labels == object_id)] = 0
        labels[mask & inside] = object_id
        self._canvas.message.emit("")
        self._canvas.finish_edit(labels, "Box to mask")

    def _on_failed(self, token: int, message: str) -> None:
        pending = self._pending
        if pending is None or pending[0] != token:
            return
        self._pending = None
        self._canvas.message.emit(f"GrabCut failed ({message}); the mask is unchanged.")
        self._canvas.cancel_edit()
