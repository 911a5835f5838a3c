"""What the tools draw over the frame (app.views.tool_marks), driven through the canvas with real
mouse events: the brush outline, the polygon path, the dragged box and the click markers, on the
half of side by side the tool works on."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
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
