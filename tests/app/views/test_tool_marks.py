"""What the tools draw over the frame (app.views.tool_marks), driven through the canvas with real
mouse events: the brush outline, the polygon path, the dragged box and the click markers, on the
half of side by side the tool works on."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsPathItem, QGraphicsRectItem

from app.views.canvas import MaskCanvas
from app.views.overlay import OverlayMode
from app.views.tools import ToolKind

H, W = 120, 160


@pytest.fixture
def canvas(qtbot: object) -> MaskCanvas:
    view = MaskCanvas()
    qtbot.addWidget(view)  # type: ignore[attr-defined]
    view.resize(640, 480)
    view.show()
    qtbot.waitExposed(view)  # type: ignore[attr-defined]
    view.set_frame(0, np.random.default_rng(1).integers(0, 255, (H, W, 3), dtype=np.uint8), None)
    view.set_objects({1: (255, 0, 0)}, {1})
    return view


def _visible(canvas: MaskCanvas, kind: type) -> list:
    return [i for i in canvas.scene().items() if isinstance(i, kind) and i.isVisible()]


def _move(qtbot: object, canvas: MaskCanvas, x: float, y: float) -> None:
    qtbot.mouseMove(canvas.viewport(), canvas.mapFromScene(QPointF(x, y)))  # type: ignore[attr-defined]


def test_brush_outline_follows_the_mouse_and_the_brush_size(qtbot: object, canvas: MaskCanvas) -> None:
    canvas.set_brush_size(20)
    _move(qtbot, canvas, 40, 50)
    (outline,) = _visible(canvas, QGraphicsEllipseItem)
    rect = outline.rect()
    assert rect.width() == pytest.approx(20) and rect.center().x() == pytest.approx(40, abs=1)
    centre = rect.center()
    canvas.set_brush_size(30)
    assert outline.rect().width() == pytest.approx(30) and outline.rect().center() == centre
    canvas.set_tool(ToolKind.POLYGON)  # no outline for the other tools
    assert not _visible(canvas, QGraphicsEllipseItem)


def test_polygon_path_and_dragged_box(qtbot: object, canvas: MaskCanvas) -> None:
    canvas.set_tool(ToolKind.POLYGON)
    vp = canvas.viewport()
    for x, y in [(20, 20), (80, 20), (80, 80)]:
        qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=canvas.mapFromScene(QPointF(x, y)))  # type: ignore[attr-defined]
    (path,) = [i for i in canvas.scene().items() if isinstance(i, QGraphicsPathItem)]
    bounds = path.path().boundingRect()
    assert bounds.left() == pytest.approx(20, abs=1) and bounds.right() == pytest.approx(80, abs=1)
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)  # type: ignore[attr-defined]
    assert path.path().isEmpty()
    canvas.set_tool(ToolKind.BOX)
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=canvas.mapFromScene(QPointF(30, 30)))  # type: ignore[attr-defined]
    _move(qtbot, canvas, 90, 70)
    (box,) = _visible(canvas, QGraphicsRectItem)
    assert box.rect().width() == pytest.approx(60, abs=2) and box.rect().height() == pytest.approx(40, abs=2)
    canvas.cancel_tool()
    assert not _visible(canvas, QGraphicsRectItem)


def test_click_markers_land_on_the_half_the_tool_works_on(qtbot: object, canvas: MaskCanvas) -> None:
    canvas.set_tool(ToolKind.CLICK)
    canvas.marks.add_click(10, 20, positive=True)
    canvas.marks.add_click(30, 40, positive=False)
    assert canvas.marks.click_count == 2
    markers = _visible(canvas, QGraphicsEllipseItem)
    centres = sorted((i.rect().center().x(), i.rect().center().y()) for i in markers)
    assert centres == [(10, 20), (30, 40)]
    canvas.reset_clicks()  # a new click session forgets the markers
    assert canvas.marks.click_count == 0 and not _visible(canvas, QGraphicsEllipseItem)
    canvas.set_overlay(OverlayMode.SIDE_BY_SIDE)
    offset = canvas.sceneRect().width() - W
    _move(qtbot, canvas, offset + 50, 60)  # the tool now works on the right half
    assert canvas.tool_offset() == pytest.approx(offset)
    canvas.marks.add_click(50, 60, positive=True)
    (marker,) = _visible(canvas, QGraphicsEllipseItem)
    assert marker.rect().center().x() == pytest.approx(offset + 50)


class _FakeClickModel:
    """Stands in for the click model on the canvas's runner: a disk of radius 12 around each
    positive click (or nothing at all, ``empty``), answered on the next turn of the event loop
    (``answered`` counts the answers)."""

    def __init__(self, canvas: MaskCanvas, empty: bool = False) -> None:
        self.runner = canvas._clicking._runner
        self.empty = empty
        self.requests: list[int] = []
        self.answered = 0
        self.runner.start = self.start  # type: ignore[method-assign]

    def start(self, request: object) -> None:
        clicks = request.clicks  # type: ignore[attr-defined]
        self.requests.append(len(clicks))
        yy, xx = np.mgrid[:H, :W]
        mask = np.zeros((H, W), bool)
        for c in clicks:
            if c.positive and not self.empty:
                mask |= (yy - c.y) ** 2 + (xx - c.x) ** 2 < 144

        def answer() -> None:
            self.answered += 1
            self.runner.finished.emit(request, mask.astype(np.float32), mask)

        QTimer.singleShot(0, answer)


def _labels_after_each_edit(canvas: MaskCanvas) -> list[np.ndarray | None]:
    """The canvas's edits applied as the window applies them (store -> canvas.set_labels)."""
    states: list[np.ndarray | None] = [None]

    def apply(frame: int, before: object, after: np.ndarray, text: str) -> None:
        states.append(after)
        canvas.set_labels(after)

    canvas.edit_finished.connect(apply)
    return states


def test_undone_clicks_lose_their_markers(qtbot: object, canvas: MaskCanvas) -> None:
    model = _FakeClickModel(canvas)
    states = _labels_after_each_edit(canvas)
    canvas.set_tool(ToolKind.CLICK)
    for n, x in enumerate((30, 60, 90), 1):
        canvas.request_click(x, 50, positive=True)
        qtbot.waitUntil(lambda n=n: model.answered == n)  # type: ignore[attr-defined]
    assert canvas.marks.click_count == 3 and len(states) == 4 and model.requests == [1, 2, 3]
    canvas.set_labels(states[2])  # undo of the third click
    assert canvas.marks.click_count == 2
    canvas.set_labels(states[0])  # undo of the other two
    assert canvas.marks.click_count == 0 and not _visible(canvas, QGraphicsEllipseItem)
    canvas.request_click(120, 50, positive=True)  # a new click starts over: one click, one marker
    qtbot.waitUntil(lambda: model.answered == 4)  # type: ignore[attr-defined]
    assert canvas.marks.click_count == 1 and model.requests[-1] == 1
    canvas.set_labels(np.zeros((H, W), np.uint8))  # changed by something else: the session ends
    assert canvas.marks.click_count == 0


def test_a_click_that_finds_nothing_says_so_and_changes_nothing(qtbot: object, canvas: MaskCanvas) -> None:
    model = _FakeClickModel(canvas, empty=True)
    messages: list[str] = []
    edits: list[str] = []
    canvas.message.connect(messages.append)
    canvas.edit_finished.connect(lambda *args: edits.append(args[3]))
    canvas.set_tool(ToolKind.CLICK)
    canvas.request_click(40, 40, positive=True)
    qtbot.waitUntil(lambda: model.answered == 1)  # type: ignore[attr-defined]
    assert edits == [] and canvas.marks.click_count == 0
    assert "found no object at this click" in messages[-1]
    canvas.request_click_box((20, 20, 80, 80))
    qtbot.waitUntil(lambda: model.answered == 2)  # type: ignore[attr-defined]
    assert edits == [] and "found no object in the box" in messages[-1]
