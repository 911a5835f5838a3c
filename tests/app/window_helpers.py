"""Helpers for tests that drive the real MainWindow: open a generated video, paint the moving
square, run a propagation and wait for its end."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from app.main_window import MainWindow
from app.model.document import Document
from app.views.tools import ToolKind
from tests.app.conftest import wait_until

RUN_TIMEOUT_MS = 120_000


Box = Callable[..., tuple[int, int, int, int]]


def paint_square(
    window: MainWindow, stroke: Callable[..., None], square: Box, frame: int, scale: int = 1
) -> None:
    """Cover the moving square of ``frame`` with horizontal brush strokes (object = active)."""
    x0, y0, x1, y1 = square(frame, 160 * scale, 120 * scale)
    window.canvas.set_tool(ToolKind.BRUSH)
    window.canvas.set_brush_size(8 * scale)
    for y in range(y0 + 4 * scale, y1, 6 * scale):
        stroke(window.canvas, [(x0 + 4 * scale, y), ((x0 + x1) / 2, y), (x1 - 4 * scale, y)])


def centre_of(labels: np.ndarray, object_id: int = 1) -> tuple[float, float]:
    ys, xs = np.nonzero(labels == object_id)
    return float(xs.mean()), float(ys.mean())


def wait_run_end(qtbot: object, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: not window.controller.running, timeout=RUN_TIMEOUT_MS)  # type: ignore[attr-defined]


def run_and_wait(qtbot: object, window: MainWindow, trigger: Callable[[], object]) -> None:
    with qtbot.waitSignal(window.controller.engine.run_finished, timeout=RUN_TIMEOUT_MS):  # type: ignore[attr-defined]
        trigger()


def open_ready(window: MainWindow, video: Path, project: Path | None = None) -> None:
    """Open a video and wait until the engine has it (commands are refused before)."""
    assert window.open_path(video, project)
    wait_until(lambda: window.controller.attached)


def open_painted(window: MainWindow, video: Path, stroke: Callable[..., None], square: Box) -> Document:
    """Open ``video`` and paint its moving square on frame 0 -> the open document."""
    open_ready(window, video)
    window.presenter.go_to(0)
    paint_square(window, stroke, square, 0)
    document = window.document
    assert document is not None
    return document


def open_propagated(
    qtbot: object, window: MainWindow, video: Path, stroke: Callable[..., None], square: Box
) -> Document:
    """:func:`open_painted`, then propagate forward to the end and wait for the run's end."""
    document = open_painted(window, video, stroke, square)
    run_and_wait(qtbot, window, window.actions.propagate_forward.trigger)
    return document
