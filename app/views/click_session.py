"""Click segmentation on the canvas: the clicks of one object on one frame, run through the click
model in the background (:class:`~app.workers.clicks.ClickRunner`), one inference and one undoable
edit per click, never taking another object's pixels."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject

from app.views.edit_host import EditHost
from app.views.tools import Box
from app.workers.clicks import ClickRequest, ClickRunner
from app.workers.grabcut import box_mask
from vos_core import Click


@dataclass
class _ClickSession:
    """Clicks on one object of one frame: ``prev`` is the model's last output (or the object's
    mask when the session began), ``done`` the clicks already applied, ``labels`` the frame's
    labels after the last applied click (a change elsewhere starts a new session)."""

    frame: int
    object_id: int
    prev: np.ndarray | None
    box: tuple[int, int, int, int] | None
    clicks: list[Click] = field(default_factory=list)
    done: int = 0
    pending: bool = False
    labels: np.ndarray | None = None


class ClickSegmentation:
    """The canvas's click tool back end (the canvas forwards its ToolHost click requests)."""

    def __init__(self, canvas: EditHost, parent: QObject) -> None:
        self._canvas = canvas
        self._runner = ClickRunner(parent)
        self._runner.finished.connect(self._on_mask)
        self._runner.failed.connect(self._on_failed)
        self._session: _ClickSession | None = None

    @property
    def busy(self) -> bool:
        return self._runner.busy

    def wait(self, timeout_ms: int = 5000) -> bool:
        return self._runner.wait(timeout_ms)

    def click(self, x: float, y: float, positive: bool) -> None:
        rgb = self._canvas.rgb
        if rgb is None:
            return
        h, w = rgb.shape[:2]
        if not (0 <= x < w and 0 <= y < h):
            return
        session = self._current()
        session.clicks.append(Click(float(y), float(x), positive))
        self._canvas.marks.add_click(x, y, positive)
        self._run()

    def start_box(self, box: Box) -> None:
        if self._canvas.rgb is None:
            return
        x0, y0, x1, y1 = box
        self.reset()
        self._session = _ClickSession(
            self._canvas.frame_index, self._canvas.active_object, None, (y0, x0, y1, x1)
        )
        self._session.pending = True
        self._run()

    def reset(self) -> None:
        self._session = None
        self._canvas.marks.clear_clicks()

    def _current(self) -> _ClickSession:
        """The session of the active object on this frame; a new one (starting from the object's
        mask on screen) when none, or when the mask changed outside the clicks (undo, brush)."""
        s, canvas = self._session, self._canvas
        labels, object_id = canvas.frame_labels, canvas.active_object
        if (
            s is None
            or s.frame != canvas.frame_index
            or s.object_id != object_id
            or (s.labels is not None and not np.array_equal(s.labels, labels))
        ):
            self.reset()
            prev = None
            if labels is not None and (labels == object_id).any():
                prev = (labels == object_id).astype(np.float32)
            s = self._session = _ClickSession(canvas.frame_index, object_id, prev, None)
        return s

    def _run(self) -> None:
        """Start the next inference: one per click, in order (each result is one undo step)."""
        s = self._session
        if s is None or self._runner.busy or self._canvas.rgb is None:
            return
        if s.done >= len(s.clicks) and not s.pending:
            return
        count = min(len(s.clicks), s.done + 1) if s.clicks else 0
        s.pending = False
        self._runner.start(ClickRequest(s.frame, self._canvas.rgb, tuple(s.clicks[:count]), s.prev, s.box))
        self._canvas.message.emit("Segmenting from the clicks…")

    def _on_mask(self, request: ClickRequest, prob: np.ndarray, mask: np.ndarray) -> None:
        s = self._session
        if (
            s is None
            or request.frame != self._canvas.frame_index
            or s.frame != request.frame
            or self._canvas.rgb is None
        ):
            self._canvas.message.emit("Click result dropped: the frame or the clicks changed")
            return
        s.done = len(request.clicks)
        s.prev = prob
        object_id = s.object_id
        if request.box is not None and not request.clicks:  # a box start stays inside its box
            y0, x0, y1, x1 = request.box
            mask = mask & box_mask(mask.shape, (x0, y0, x1, y1))
        labels = self._canvas.labels_for_edit()
        assert labels is not None
        labels[(labels == object_id) & ~mask] = 0
        labels[mask & (labels == 0)] = object_id  # never another object's pixels
        if not request.clicks:
            text = "Box (click model)"
        else:
            text = "Click (+)" if request.clicks[-1].positive else "Click (−)"
        self._canvas.message.emit("")
        self._canvas.finish_edit(labels, text)
        s.labels = self._canvas.frame_labels
        self._run()

    def _on_failed(self, message: str) -> None:
        self.reset()
        self._canvas.message.emit(f"Click segmentation failed: {message}")
