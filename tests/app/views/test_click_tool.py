"""The Click tool on the real MainWindow: clicks refine the active object's mask in the background."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from app.main_window import MainWindow
from app.views.tools import ToolKind
from tests.app.conftest import wait_until
from vos_core.weights import weights_dir

CLICK_MS = 60_000

pytestmark = pytest.mark.skipif(
    not (weights_dir() / "clicks.pt").is_file(), reason="the click model weights are not shipped"
)


@pytest.fixture
def window(window: MainWindow, qtbot: object) -> MainWindow:
    """The shared window (tests/app/conftest.py) at the size these click positions assume."""
    window.resize(1100, 760)
    qtbot.waitUntil(lambda: window.width() == 1100)  # type: ignore[attr-defined]
    return window


def _open(window: MainWindow, video: Path) -> None:
    assert window.open_path(video, None)
    wait_until(lambda: window.controller.attached)
    window.presenter.go_to(0)
    wait_until(lambda: window.canvas.frame_index == 0)


def _click(qtbot: object, window: MainWindow, x: float, y: float, button: Qt.MouseButton) -> None:
    canvas = window.canvas
    with qtbot.waitSignal(canvas.edit_finished, timeout=CLICK_MS):  # type: ignore[attr-defined]
        qtbot.mouseClick(canvas.viewport(), button, pos=canvas.mapFromScene(QPointF(x, y)))  # type: ignore[attr-defined]
    wait_until(lambda: not canvas.editing)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def test_clicks_segment_refine_and_undo_one_step_each(
    qtbot: object, window: MainWindow, make_video: Callable[..., Path], square: Callable[..., tuple]
) -> None:
    _open(window, make_video(n=6))
    document = window.document
    assert document is not None
    window.actions.tools[ToolKind.CLICK].trigger()
    assert window.canvas.tool == ToolKind.CLICK
    x0, y0, x1, y1 = square(0)
    truth = np.zeros((120, 160), bool)
    truth[y0:y1, x0:x1] = True
    _click(qtbot, window, (x0 + x1) / 2, (y0 + y1) / 2, Qt.MouseButton.LeftButton)
    first = document.masks.get(0)
    assert first is not None and _iou(first == 1, truth) > 0.5
    steps = document.undo_stack.count()
    # a negative click on the background far from the square, then a positive one in the square
    _click(qtbot, window, 140, 20, Qt.MouseButton.RightButton)
    _click(qtbot, window, x0 + 6, y0 + 6, Qt.MouseButton.LeftButton)
    assert document.undo_stack.count() == steps + 2  # one undo step per click
    last = document.masks.get(0)
    assert last is not None and not last[20, 140]
    assert _iou(last == 1, truth) > 0.6
    assert window.canvas.marks.click_count == 3
    window.actions.undo.trigger()
    window.actions.undo.trigger()
    np.testing.assert_array_equal(document.masks.get(0), first)
    assert window.canvas.marks.click_count == 1  # the undone clicks lost their markers (issue 24)


def test_clicks_never_take_another_objects_pixels_and_box_starts(
    qtbot: object,
    window: MainWindow,
    make_video: Callable[..., Path],
    square: Callable[..., tuple],
    stroke: Callable[..., None],
) -> None:
    _open(window, make_video(n=6))
    document = window.document
    assert document is not None
    document.add_object("Second")
    x0, y0, x1, y1 = square(0)
    # object 2 paints a strip across the square's top
    window.canvas.set_active_object(2)
    window.canvas.set_tool(ToolKind.BRUSH)
    window.canvas.set_brush_size(6)
    stroke(window.canvas, [(x0 - 4, y0 + 4), (x1 + 4, y0 + 4)])
    second = document.masks.get(0) == 2
    assert second.any()
    window.canvas.set_active_object(1)
    window.canvas.set_tool(ToolKind.CLICK)
    with qtbot.waitSignal(window.canvas.edit_finished, timeout=CLICK_MS):  # type: ignore[attr-defined]
        stroke(window.canvas, [(x0 - 3, y0 - 3), ((x0 + x1) / 2, (y0 + y1) / 2), (x1 + 3, y1 + 3)])
    wait_until(lambda: not window.canvas.editing)
    labels = document.masks.get(0)
    assert labels is not None
    np.testing.assert_array_equal(labels == 2, second)  # object 2 untouched
    inside = labels[y0 + 10 : y1 - 4, x0 + 4 : x1 - 4]
    assert (inside == 1).mean() > 0.5
    assert not (labels[:, : max(0, x0 - 6)] == 1).any()  # the box start stays in its box
    _click(qtbot, window, (x0 + x1) / 2, y1 - 6, Qt.MouseButton.LeftButton)
    np.testing.assert_array_equal(document.masks.get(0) == 2, second)


def test_clicks_on_a_correction_frame_start_from_the_mask_on_screen(
    qtbot: object,
    window: MainWindow,
    make_video: Callable[..., Path],
    square: Callable[..., tuple],
    stroke: Callable[..., None],
) -> None:
    _open(window, make_video(n=6))
    document = window.document
    assert document is not None
    x0, y0, x1, y1 = square(0)
    # a wrong mask of object 1 (as a propagated one can be): the square's left half and a blob outside
    window.canvas.set_tool(ToolKind.BRUSH)
    window.canvas.set_brush_size(8)
    for y in range(y0 + 4, y1, 6):
        stroke(window.canvas, [(x0 + 4, y), ((x0 + x1) / 2, y)])
    stroke(window.canvas, [(135, 15), (145, 15)])
    wrong = document.masks.get(0) == 1
    window.canvas.set_tool(ToolKind.CLICK)
    _click(qtbot, window, 140, 15, Qt.MouseButton.RightButton)  # remove the blob
    labels = document.masks.get(0)
    assert labels is not None and not (labels[10:20, 132:148] == 1).any()
    kept = wrong[:, : (x0 + x1) // 2] & (labels[:, : (x0 + x1) // 2] == 1)
    assert kept.sum() > 0.5 * wrong[:, : (x0 + x1) // 2].sum()  # the refined mask keeps the good part
