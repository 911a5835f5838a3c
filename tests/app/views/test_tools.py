"""Editing tools on label maps, with a recording host instead of the canvas."""

from __future__ import annotations

import numpy as np

from app.views.tools import BoxTool, BrushTool, PolygonTool, fill_holes


class Host:
    def __init__(self, labels: np.ndarray | None = None, active: int = 1, size: int = 5) -> None:
        self.labels = np.zeros((40, 60), np.uint8) if labels is None else labels
        self.active_object = active
        self.brush_size = size
        self.finished: list[tuple[np.ndarray, str]] = []
        self.previews = 0
        self.boxes: list[tuple[int, int, int, int]] = []
        self.path: list[tuple[float, float]] = []
        self.cancelled = 0

    def labels_for_edit(self) -> np.ndarray:
        return self.labels.copy()

    def preview_labels(self, labels: np.ndarray, box: object) -> None:
        self.previews += 1

    def finish_edit(self, labels: np.ndarray, text: str) -> None:
        self.labels = labels
        self.finished.append((labels, text))

    def cancel_edit(self) -> None:
        self.cancelled += 1

    def show_path(self, points: list[tuple[float, float]], closed: bool) -> None:
        self.path = points

    def show_box(self, box: object) -> None:
        pass

    def request_box_mask(self, box: tuple[int, int, int, int]) -> None:
        self.boxes.append(box)


def test_brush_paints_a_stroke_as_one_edit() -> None:
    host, brush = Host(size=5), BrushTool()
    brush.press(host, 10, 20)
    brush.move(host, 20, 20)
    brush.move(host, 30, 20)
    assert brush.editing and host.previews >= 3 and not host.finished
    brush.release(host, 30, 20)
    assert len(host.finished) == 1 and not brush.editing
    labels, text = host.finished[0]
    assert text == "Brush stroke"
    assert labels[20, 10:31].all() and labels[20, 10] == 1
    assert labels[20 - 2 : 20 + 3, 20].all() and not labels[15, 20] and not labels[25, 20]


def test_eraser_removes_only_the_active_object() -> None:
    labels = np.zeros((40, 60), np.uint8)
    labels[:, :30] = 1
    labels[:, 30:] = 2
    host, eraser = Host(labels, active=1, size=9), BrushTool(erase=True)
    eraser.press(host, 25, 20)
    eraser.move(host, 35, 20)
    eraser.release(host, 35, 20)
    out = host.finished[0][0]
    assert out[20, 25] == 0 and out[20, 35] == 2 and out[0, 0] == 1


def test_brush_cancel_keeps_labels() -> None:
    host, brush = Host(), BrushTool()
    brush.press(host, 5, 5)
    brush.cancel(host)
    assert not brush.editing and host.cancelled == 1 and not host.finished


def test_polygon_closes_on_double_click_and_fills() -> None:
    host, poly = Host(active=3), PolygonTool()
    for x, y in [(10, 10), (40, 10), (40, 30)]:
        poly.press(host, x, y)
    poly.move(host, 12, 30)
    assert len(host.path) == 4
    poly.double_click(host, 10, 30)
    labels, text = host.finished[0]
    assert text == "Polygon" and labels[20, 25] == 3 and labels[5, 5] == 0 and host.path == []


def test_polygon_keys() -> None:
    host, poly = Host(), PolygonTool()
    assert not poly.key(host, "enter")
    for x, y in [(1, 1), (20, 1), (20, 20), (1, 20)]:
        poly.press(host, x, y)
    assert poly.key(host, "backspace") and len(poly.points) == 3
    assert poly.key(host, "enter") and len(host.finished) == 1
    poly.press(host, 1, 1)
    assert poly.key(host, "escape") and not poly.editing and len(host.finished) == 1


def test_box_tool_requests_a_box_and_ignores_clicks() -> None:
    host, box = Host(), BoxTool()
    box.press(host, 10, 10)
    box.release(host, 11, 11)
    assert host.boxes == []
    box.press(host, 30.5, 25)
    box.move(host, 12, 8)
    box.release(host, 12, 8)
    assert host.boxes == [(12, 8, 31, 25)]


def test_fill_holes_fills_background_holes_only() -> None:
    labels = np.zeros((20, 20), np.uint8)
    labels[2:12, 2:12] = 1
    labels[4:6, 4:6] = 0
    labels[8:10, 8:10] = 2  # another object inside: kept
    labels[0:3, 15:20] = 1
    labels[1, 19] = 0  # touches the border: not a hole
    out = fill_holes(labels, 1)
    assert out[4:6, 4:6].all() and (out[8:10, 8:10] == 2).all() and out[1, 19] == 0
