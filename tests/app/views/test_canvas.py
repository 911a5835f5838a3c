"""The canvas on its own, with real mouse events and a dict standing in for the mask store."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from app.views.canvas import MaskCanvas
from app.views.overlay import OverlayMode
from app.views.tools import ToolKind

H, W = 120, 160


class FakeStore:
    """Applies the canvas's edits like the real window does (undo stack -> store -> canvas)."""

    def __init__(self, canvas: MaskCanvas) -> None:
        self.masks: dict[int, np.ndarray] = {}
        self.edits: list[tuple[int, np.ndarray | None, np.ndarray, str]] = []
        self.canvas = canvas
        canvas.edit_finished.connect(self.on_edit)

    def on_edit(self, frame: int, before: np.ndarray | None, after: np.ndarray, text: str) -> None:
        self.edits.append((frame, before, after, text))
        self.masks[frame] = after
        if frame == self.canvas.frame_index:
            self.canvas.set_labels(after)


@pytest.fixture
def canvas(qtbot: object) -> MaskCanvas:
    view = MaskCanvas()
    qtbot.addWidget(view)  # type: ignore[attr-defined]
    view.resize(640, 480)
    view.show()
    qtbot.waitExposed(view)  # type: ignore[attr-defined]
    rng = np.random.default_rng(0)
    view.set_frame(0, rng.integers(0, 255, (H, W, 3), dtype=np.uint8), None)
    view.set_objects({1: (255, 0, 0), 2: (0, 255, 0)}, {1, 2})
    return view


@pytest.fixture
def store(canvas: MaskCanvas) -> FakeStore:
    return FakeStore(canvas)


def test_fits_the_frame_on_open(canvas: MaskCanvas) -> None:
    assert canvas.fit_mode and canvas.zoom == pytest.approx(min(640 / W, 480 / H), rel=0.02)


def test_brush_stroke_is_one_edit_at_the_right_place(
    canvas: MaskCanvas, store: FakeStore, stroke: Callable[..., None]
) -> None:
    canvas.set_brush_size(6)
    stroke(canvas, [(30, 60), (50, 60), (70, 60), (90, 60)])
    assert len(store.edits) == 1
    frame, before, after, text = store.edits[0]
    assert frame == 0 and before is None and text == "Brush stroke"
    assert after[60, 30:91].all() and after[60, 95] == 0 and after[50, 60] == 0
    assert set(np.unique(after)) == {0, 1}
    overlay = canvas.layers.overlay_array
    assert overlay is not None and overlay[60, 60, 3] > 0 and overlay[10, 10, 3] == 0


def test_eraser_and_active_object(canvas: MaskCanvas, store: FakeStore, stroke: Callable[..., None]) -> None:
    canvas.set_brush_size(10)
    canvas.set_active_object(2)
    stroke(canvas, [(20, 20), (100, 20)])
    canvas.set_tool(ToolKind.ERASER)
    stroke(canvas, [(60, 20), (61, 20)])
    after = store.edits[-1][2]
    assert after[20, 30] == 2 and after[20, 60] == 0 and store.edits[-1][3] == "Erase"


def test_wheel_zooms_around_the_cursor(canvas: MaskCanvas) -> None:
    anchor = canvas.mapFromScene(QPointF(40, 30))
    before = canvas.mapToScene(anchor)
    event = QWheelEvent(
        QPointF(anchor), QPointF(canvas.viewport().mapToGlobal(anchor)), QPoint(0, 0), QPoint(0, 240),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
    )  # fmt: skip
    zoom = canvas.zoom
    QApplication.sendEvent(canvas.viewport(), event)
    assert canvas.zoom == pytest.approx(zoom * 1.44, rel=0.01) and not canvas.fit_mode
    after = canvas.mapToScene(anchor)
    assert abs(after.x() - before.x()) < 1.5 and abs(after.y() - before.y()) < 1.5
    canvas.fit()
    assert canvas.fit_mode and canvas.zoom == pytest.approx(zoom, rel=0.01)


def test_middle_drag_and_space_drag_pan_without_editing(
    qtbot: object, canvas: MaskCanvas, store: FakeStore, stroke: Callable[..., None]
) -> None:
    canvas.zoom_by(4.0)
    centre = canvas.viewport().rect().center()
    start = canvas.mapToScene(centre)
    stroke(canvas, [(80, 60), (60, 50)], button=Qt.MouseButton.MiddleButton)
    moved = canvas.mapToScene(centre)
    assert moved.x() > start.x() + 5 and moved.y() > start.y() + 2
    qtbot.keyPress(canvas, Qt.Key.Key_Space)  # type: ignore[attr-defined]
    stroke(canvas, [(80, 60), (70, 60)])
    qtbot.keyRelease(canvas, Qt.Key.Key_Space)  # type: ignore[attr-defined]
    assert canvas.mapToScene(centre).x() > moved.x() + 5
    assert store.edits == []


def test_polygon_with_clicks_and_double_click(qtbot: object, canvas: MaskCanvas, store: FakeStore) -> None:
    canvas.set_tool(ToolKind.POLYGON)
    vp = canvas.viewport()
    points = [canvas.mapFromScene(QPointF(x, y)) for x, y in [(20, 20), (80, 20), (80, 80), (20, 80)]]
    for p in points[:-1]:
        qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=p)  # type: ignore[attr-defined]
    qtbot.mouseDClick(vp, Qt.MouseButton.LeftButton, pos=points[-1])  # type: ignore[attr-defined]
    assert len(store.edits) == 1 and store.edits[0][3] == "Polygon"
    after = store.edits[0][2]
    assert after[50, 50] == 1 and after[10, 10] == 0 and after[90, 90] == 0


def test_box_to_mask_runs_grabcut_in_the_background(
    qtbot: object, canvas: MaskCanvas, store: FakeStore, stroke: Callable[..., None]
) -> None:
    image = np.full((H, W, 3), 90, np.uint8)
    image[::2, ::3] = 60
    image[40:80, 50:100] = (230, 30, 30)
    canvas.set_frame(0, image, None)
    canvas.set_tool(ToolKind.BOX)
    with qtbot.waitSignal(canvas.edit_finished, timeout=10000):  # type: ignore[attr-defined]
        stroke(canvas, [(42, 32), (70, 50), (108, 88)])
        assert canvas.editing  # waiting for GrabCut
    after = store.edits[-1][2]
    assert store.edits[-1][3] == "Box to mask"
    truth = np.zeros((H, W), bool)
    truth[40:80, 50:100] = True
    assert ((after == 1) & truth).sum() / ((after == 1) | truth).sum() > 0.85
    stroke(canvas, [(10, 10), (12, 12)])  # too small: nothing
    canvas.set_tool(ToolKind.BRUSH)
    stroke(canvas, [(20, 100), (30, 100)])  # editable afterwards
    assert len(store.edits) == 2


def test_box_that_grabcut_finds_nothing_in_says_so_and_changes_nothing(
    qtbot: object, canvas: MaskCanvas, store: FakeStore, stroke: Callable[..., None]
) -> None:
    canvas.set_frame(0, np.full((H, W, 3), 90, np.uint8), None)  # nothing to find
    canvas.set_tool(ToolKind.BOX)
    messages: list[str] = []
    canvas.message.connect(messages.append)
    stroke(canvas, [(42, 32), (70, 50), (108, 88)])
    qtbot.waitUntil(lambda: not canvas.editing, timeout=10000)  # type: ignore[attr-defined]
    assert store.edits == [] and "GrabCut found no object in the box" in messages[-1]


def test_side_by_side_paints_through_the_right_half(
    canvas: MaskCanvas, store: FakeStore, stroke: Callable[..., None]
) -> None:
    canvas.set_overlay(OverlayMode.SIDE_BY_SIDE)
    rect = canvas.sceneRect()
    assert rect.width() > 2 * W
    offset = rect.width() - W
    stroke(canvas, [(offset + 40, 50), (offset + 60, 50)])
    after = store.edits[0][2]
    assert after[50, 40:61].all()
    canvas.set_overlay(OverlayMode.CONTOUR)
    assert canvas.sceneRect().width() == W


def test_hidden_objects_are_not_drawn(canvas: MaskCanvas) -> None:
    labels = np.zeros((H, W), np.uint8)
    labels[10:30, 10:30] = 1
    labels[50:70, 50:70] = 2
    canvas.set_labels(labels)
    canvas.set_objects({1: (255, 0, 0), 2: (0, 255, 0)}, {1})
    overlay = canvas.layers.overlay_array
    assert overlay[20, 20, 3] > 0 and overlay[60, 60, 3] == 0


def test_brush_size_keys_and_frame_actions(canvas: MaskCanvas, store: FakeStore) -> None:
    canvas.set_brush_size(20)
    canvas.grow_brush(1)
    assert canvas.brush_size == 23
    canvas.grow_brush(-2)
    assert canvas.brush_size < 20
    labels = np.zeros((H, W), np.uint8)
    labels[10:40, 10:40] = 1
    labels[20:25, 20:25] = 0
    canvas.set_labels(labels)
    canvas.fill_active_holes()
    assert store.edits[-1][3] == "Fill holes" and store.edits[-1][2][22, 22] == 1
    canvas.clear_frame()
    assert store.edits[-1][3] == "Clear frame" and not store.edits[-1][2].any()


def test_changing_frame_cancels_an_unfinished_edit(
    qtbot: object, canvas: MaskCanvas, store: FakeStore
) -> None:
    vp = canvas.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=canvas.mapFromScene(QPointF(50, 50)))  # type: ignore[attr-defined]
    assert canvas.editing
    canvas.set_frame(1, np.zeros((H, W, 3), np.uint8), None)
    assert not canvas.editing and canvas.labels is None
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=canvas.mapFromScene(QPointF(50, 50)))  # type: ignore[attr-defined]
    assert store.edits == []
