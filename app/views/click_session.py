"""Click segmentation on the canvas: the clicks of one object on one frame, run through the click
model in the background (:class:`~app.workers.clicks.ClickRunner`), one inference and one undoable
edit per click, never taking another object's pixels. When the frame's labels change (undo, redo)
to what an earlier click left, the markers of the clicks after it go (:meth:`sync_marks`); when the
click model finds no object (a box start with an empty mask, a positive click that yields nothing)
the user is told and the mask stays as it was."""

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
    #: the frame's labels when the session began, and (labels, model output) after each applied click
    start: np.ndarray | None = None
    history: list[tuple[np.ndarray | None, np.ndarray]] = field(default_factory=list)


class ClickSegmentation:
    """The canvas's click tool back end (the canvas forwards its ToolHost click requests)."""

    def __init__(self, canvas: EditHost, parent: QObject) -> None:
        self._canvas = canvas
        self._runner = ClickRunner(parent)
        self._runner.finished.connect(self._on_mask)
        self._runner.failed.connect(self._on_failed)
        self._session: _ClickSession | None = None
        self._applying = False

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
            self._canvas.frame_index, self._canvas.active_object, None, (y0, x0, y1, x1),
            start=self._canvas.frame_labels,
        )  # fmt: skip
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
            s = self._session = _ClickSession(canvas.frame_index, object_id, prev, None, start=labels)
        return s

    def sync_marks(self) -> None:
        """(The frame's labels changed.) Labels that an earlier click of the session left (an
        undo) keep the markers of the clicks up to it; other labels end the session."""
        s, canvas = self._session, self._canvas
        if s is None or s.frame != canvas.frame_index or self._runner.busy or self._applying:
            return
        labels = canvas.frame_labels
        if _same(labels, s.labels):
            return
        states = [s.start, *(after for after, _ in s.history)]
        for count in range(min(s.done, len(s.history)), -1, -1):
            if _same(labels, states[count]):
                del s.clicks[count:], s.history[count:]
                s.done, s.labels = count, labels
                s.prev = s.history[-1][1] if s.history else (
                    None if labels is None or not (labels == s.object_id).any()
                    else (labels == s.object_id).astype(np.float32)
                )  # fmt: skip
                canvas.marks.keep_clicks(count)
                return
        self.reset()

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
        if tuple(s.clicks[: len(request.clicks)]) != request.clicks:  # clicks undone meanwhile
            self._canvas.message.emit("Click result dropped: the clicks changed")
            self._run()
            return
        if request.box is not None and not request.clicks:  # a box start stays inside its box
            y0, x0, y1, x1 = request.box
            mask = mask & box_mask(mask.shape, (x0, y0, x1, y1))
        if not mask.any() and (not request.clicks or request.clicks[-1].positive):
            self._nothing_found(request)
            return
        s.done = len(request.clicks)
        s.prev = prob
        object_id = s.object_id
        labels = self._canvas.labels_for_edit()
        assert labels is not None
        labels[(labels == object_id) & ~mask] = 0
        labels[mask & (labels == 0)] = object_id  # never another object's pixels
        if not request.clicks:
            text = "Box (click model)"
        else:
            text = "Click (+)" if request.clicks[-1].positive else "Click (−)"
        self._canvas.message.emit("")
        self._applying = True  # the labels the canvas is told back are this click's own
        try:
            self._canvas.finish_edit(labels, text)
        finally:
            self._applying = False
        s.labels = self._canvas.frame_labels
        s.history.append((s.labels, prob))
        self._run()

    def _nothing_found(self, request: ClickRequest) -> None:
        """The click model found no object: say so, keep the mask, forget the click (or the box)."""
        s = self._session
        assert s is not None
        where = "at this click" if request.clicks else "in the box"
        self._canvas.message.emit(
            f"The click model found no object {where}; the mask is unchanged. "
            + ("Click on the object to start." if not request.clicks else "Try a click nearer its middle.")
        )
        if request.clicks:
            del s.clicks[len(request.clicks) - 1 :]
            self._canvas.marks.keep_clicks(len(s.clicks))
            self._run()
        else:
            self.reset()

    def _on_failed(self, message: str) -> None:
        self.reset()
        self._canvas.message.emit(f"Click segmentation failed: {message}")


def _same(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and np.array_equal(a, b))
