"""Mask editing tools: brush, eraser, polygon, box and click. Tools work on image coordinates and label
maps; the canvas gives them a :class:`ToolHost` for previews and for finishing an edit."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

import cv2
import numpy as np


class ToolKind(StrEnum):
    BRUSH = "brush"
    ERASER = "eraser"
    POLYGON = "polygon"
    BOX = "box"
    CLICK = "click"


Box = tuple[int, int, int, int]  # x0, y0, x1, y1 with exclusive ends


class ToolHost(Protocol):
    """What a tool needs from the canvas."""

    active_object: int
    brush_size: int

    def labels_for_edit(self) -> np.ndarray | None:
        """A writable copy of the current frame's labels (zeros when it has none); None: no frame."""

    def preview_labels(self, labels: np.ndarray, box: Box | None) -> None:
        """Show ``labels`` (being edited); only ``box`` changed when given."""

    def finish_edit(self, labels: np.ndarray, text: str) -> None:
        """The edit is done: ``labels`` are the frame's new labels."""

    def cancel_edit(self) -> None:
        """Throw the edit away and show the frame's labels again."""

    def show_path(self, points: list[tuple[float, float]], closed: bool) -> None:
        """Draw the polygon being built (empty list: hide it)."""

    def show_box(self, box: Box | None) -> None:
        """Draw the box being dragged (None: hide it)."""

    def request_box_mask(self, box: Box) -> None:
        """Start box-to-mask segmentation of ``box`` for the active object."""

    def request_click(self, x: float, y: float, positive: bool) -> None:
        """Add a click for the active object and refine its mask with the click model."""

    def request_click_box(self, box: Box) -> None:
        """Start click segmentation of the active object from ``box`` (forgets earlier clicks)."""

    def reset_clicks(self) -> None:
        """Forget the clicks so far (the next click starts from the mask on screen)."""


def clip_box(box: Box, shape: tuple[int, int]) -> Box:
    h, w = shape
    x0, y0, x1, y1 = box
    return max(0, x0), max(0, y0), min(w, x1), min(h, y1)


class Tool:
    """Base class: every handler gets image coordinates (floats)."""

    kind: ToolKind

    @property
    def editing(self) -> bool:
        return False

    def press(self, host: ToolHost, x: float, y: float) -> None: ...

    def move(self, host: ToolHost, x: float, y: float) -> None: ...

    def release(self, host: ToolHost, x: float, y: float) -> None: ...

    def double_click(self, host: ToolHost, x: float, y: float) -> None: ...

    def right_press(self, host: ToolHost, x: float, y: float) -> None:
        """Right button pressed while not editing (the canvas cancels an edit in progress)."""

    def key(self, host: ToolHost, key: str) -> bool:
        """``key`` is "enter", "escape" or "backspace"; True when handled."""
        return False

    def cancel(self, host: ToolHost) -> None: ...


class BrushTool(Tool):
    """Paints the active object (or, as the eraser, removes the active object) along the stroke."""

    def __init__(self, erase: bool = False) -> None:
        self.erase = erase
        self.kind = ToolKind.ERASER if erase else ToolKind.BRUSH
        self._labels: np.ndarray | None = None
        self._last: tuple[int, int] | None = None

    @property
    def editing(self) -> bool:
        return self._labels is not None

    def press(self, host: ToolHost, x: float, y: float) -> None:
        self._labels = host.labels_for_edit()
        if self._labels is None:
            return
        point = (int(round(x)), int(round(y)))
        self._last = point
        self._stamp(host, point, point)

    def move(self, host: ToolHost, x: float, y: float) -> None:
        if self._labels is None or self._last is None:
            return
        point = (int(round(x)), int(round(y)))
        if point != self._last:
            self._stamp(host, self._last, point)
            self._last = point

    def release(self, host: ToolHost, x: float, y: float) -> None:
        if self._labels is None:
            return
        self.move(host, x, y)
        labels, self._labels, self._last = self._labels, None, None
        host.finish_edit(labels, "Erase" if self.erase else "Brush stroke")

    def cancel(self, host: ToolHost) -> None:
        if self._labels is not None:
            self._labels, self._last = None, None
            host.cancel_edit()

    def _stamp(self, host: ToolHost, p0: tuple[int, int], p1: tuple[int, int]) -> None:
        assert self._labels is not None
        size = max(1, int(host.brush_size))
        r = size // 2 + 1
        box = clip_box(
            (
                min(p0[0], p1[0]) - r,
                min(p0[1], p1[1]) - r,
                max(p0[0], p1[0]) + r + 1,
                max(p0[1], p1[1]) + r + 1,
            ),
            self._labels.shape,
        )
        x0, y0, x1, y1 = box
        if x1 <= x0 or y1 <= y0:
            return
        stroke = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
        a, b = (p0[0] - x0, p0[1] - y0), (p1[0] - x0, p1[1] - y0)
        if size <= 1:
            cv2.line(stroke, a, b, 1, 1)
        else:
            cv2.line(stroke, a, b, 1, size)
            cv2.circle(stroke, a, size // 2, 1, -1)
            cv2.circle(stroke, b, size // 2, 1, -1)
        crop = self._labels[y0:y1, x0:x1]
        hit = stroke.astype(bool)
        active = host.active_object
        if self.erase:
            crop[hit & (crop == active)] = 0
        else:
            crop[hit] = active
        host.preview_labels(self._labels, box)


class PolygonTool(Tool):
    """Click points; double-click or Enter closes the polygon and fills it with the active object.
    Backspace removes the last point, Escape cancels."""

    kind = ToolKind.POLYGON

    def __init__(self) -> None:
        self.points: list[tuple[float, float]] = []
        self._hover: tuple[float, float] | None = None

    @property
    def editing(self) -> bool:
        return bool(self.points)

    def press(self, host: ToolHost, x: float, y: float) -> None:
        self.points.append((x, y))
        self._show(host)

    def move(self, host: ToolHost, x: float, y: float) -> None:
        if self.points:
            self._hover = (x, y)
            self._show(host)

    def double_click(self, host: ToolHost, x: float, y: float) -> None:
        if not self.points or self.points[-1] != (x, y):
            self.points.append((x, y))
        self.close(host)

    def key(self, host: ToolHost, key: str) -> bool:
        if not self.points:
            return False
        if key == "enter":
            self.close(host)
        elif key == "escape":
            self.cancel(host)
        elif key == "backspace":
            self.points.pop()
            self._show(host)
        else:
            return False
        return True

    def close(self, host: ToolHost) -> None:
        points, self.points, self._hover = self.points, [], None
        host.show_path([], False)
        if len(points) < 3:
            return
        labels = host.labels_for_edit()
        if labels is None:
            return
        polygon = np.round(np.array(points)).astype(np.int32)
        cv2.fillPoly(labels, [polygon], int(host.active_object))
        host.finish_edit(labels, "Polygon")

    def cancel(self, host: ToolHost) -> None:
        self.points, self._hover = [], None
        host.show_path([], False)

    def _show(self, host: ToolHost) -> None:
        shown = self.points + ([self._hover] if self._hover is not None else [])
        host.show_path(shown, False)


class BoxTool(Tool):
    """Drag a box; on release the box is segmented (GrabCut) into the active object's mask."""

    kind = ToolKind.BOX
    MIN_SIZE = 4

    def __init__(self) -> None:
        self._start: tuple[float, float] | None = None

    @property
    def editing(self) -> bool:
        return self._start is not None

    def press(self, host: ToolHost, x: float, y: float) -> None:
        self._start = (x, y)
        host.show_box(self._box(x, y))

    def move(self, host: ToolHost, x: float, y: float) -> None:
        if self._start is not None:
            host.show_box(self._box(x, y))

    def release(self, host: ToolHost, x: float, y: float) -> None:
        if self._start is None:
            return
        box = self._box(x, y)
        self._start = None
        host.show_box(None)
        if box[2] - box[0] >= self.MIN_SIZE and box[3] - box[1] >= self.MIN_SIZE:
            host.request_box_mask(box)

    def key(self, host: ToolHost, key: str) -> bool:
        if key == "escape" and self._start is not None:
            self.cancel(host)
            return True
        return False

    def cancel(self, host: ToolHost) -> None:
        self._start = None
        host.show_box(None)

    def _box(self, x: float, y: float) -> Box:
        assert self._start is not None
        sx, sy = self._start
        return (
            int(np.floor(min(sx, x))),
            int(np.floor(min(sy, y))),
            int(np.ceil(max(sx, x))),
            int(np.ceil(max(sy, y))),
        )


class ClickTool(Tool):
    """Click to segment: left click adds a positive point, right click a negative one, a left drag
    draws a box to start from; each click refines the active object's mask (the click model runs
    in the background). Escape forgets the clicks so far (the next click starts anew)."""

    kind = ToolKind.CLICK
    DRAG = 4  # pixels of movement that turn a press into a box drag

    def __init__(self) -> None:
        self._start: tuple[float, float] | None = None
        self._dragging = False

    @property
    def editing(self) -> bool:
        return self._start is not None

    def press(self, host: ToolHost, x: float, y: float) -> None:
        self._start, self._dragging = (x, y), False

    def move(self, host: ToolHost, x: float, y: float) -> None:
        if self._start is None:
            return
        sx, sy = self._start
        if self._dragging or max(abs(x - sx), abs(y - sy)) >= self.DRAG:
            self._dragging = True
            host.show_box(self._box(x, y))

    def release(self, host: ToolHost, x: float, y: float) -> None:
        if self._start is None:
            return
        start, dragging = self._start, self._dragging
        self._start, self._dragging = None, False
        if dragging:
            host.show_box(None)
            box = self._box_from(start, x, y)
            if box[2] - box[0] >= BoxTool.MIN_SIZE and box[3] - box[1] >= BoxTool.MIN_SIZE:
                host.request_click_box(box)
        else:
            host.request_click(start[0], start[1], True)

    def right_press(self, host: ToolHost, x: float, y: float) -> None:
        host.request_click(x, y, False)

    def key(self, host: ToolHost, key: str) -> bool:
        if key != "escape":
            return False
        if self._start is not None:
            self.cancel(host)
        else:
            host.reset_clicks()
        return True

    def cancel(self, host: ToolHost) -> None:
        self._start, self._dragging = None, False
        host.show_box(None)

    def _box(self, x: float, y: float) -> Box:
        assert self._start is not None
        return self._box_from(self._start, x, y)

    @staticmethod
    def _box_from(start: tuple[float, float], x: float, y: float) -> Box:
        sx, sy = start
        return (
            int(np.floor(min(sx, x))),
            int(np.floor(min(sy, y))),
            int(np.ceil(max(sx, x))),
            int(np.ceil(max(sy, y))),
        )


def make_tool(kind: ToolKind) -> Tool:
    return {
        ToolKind.BRUSH: lambda: BrushTool(),
        ToolKind.ERASER: lambda: BrushTool(erase=True),
        ToolKind.POLYGON: PolygonTool,
        ToolKind.BOX: BoxTool,
        ToolKind.CLICK: ClickTool,
    }[kind]()


def fill_holes(labels: np.ndarray, object_id: int) -> np.ndarray:
    """Labels with the background holes enclosed by ``object_id`` given to it (other objects kept)."""
    mask = (labels == object_id).astype(np.uint8)
    if not mask.any():
        return labels.copy()
    h, w = mask.shape
    outside = np.ones((h + 2, w + 2), dtype=np.uint8)
    outside[1:-1, 1:-1] = 1 - mask
    flood = np.zeros((h + 4, w + 4), dtype=np.uint8)
    cv2.floodFill(outside, flood, (0, 0), 2)
    holes = outside[1:-1, 1:-1] == 1
    out = labels.copy()
    out[holes & (labels == 0)] = object_id
    return out
