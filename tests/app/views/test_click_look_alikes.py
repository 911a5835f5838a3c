"""The Click tool on the real MainWindow picks the clicked object, not everything that looks like it."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from app.main_window import MainWindow
from app.views.tools import ToolKind
from tests.app.conftest import wait_until, write_video
from vos_core.weights import weights_dir

CLICK_MS = 60_000
WIDTH, HEIGHT, RADIUS = 320, 240, 40
CENTRES = ((HEIGHT // 2, WIDTH // 4), (HEIGHT // 2, 3 * WIDTH // 4))

pytestmark = pytest.mark.skipif(
    not (weights_dir() / "clicks.pt").is_file(), reason="the click model weights are not shipped"
)


def _disk(centre: tuple[int, int]) -> np.ndarray:
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    cv2.circle(mask, (centre[1], centre[0]), RADIUS, 1, -1)
    return mask.astype(bool)


def _twins_video(path: Path, n: int = 4) -> Path:
    """Two identical red disks on a textured background (noise + stripes), still."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    stripes = (40 * np.sin(xx / 7.0) + 30 * np.cos(yy / 9.0)).astype(np.int16)
    base = np.stack([stripes + 110, stripes + 120, stripes + 100], axis=-1)
    frame = np.clip(base + rng.integers(-25, 25, (HEIGHT, WIDTH, 3)), 0, 255).astype(np.uint8)
    for centre in CENTRES:
        frame[_disk(centre)] = (230, 30, 30)
    return write_video(path, [frame] * n)


def test_a_click_on_one_of_two_look_alikes_gives_that_one_alone(
    qtbot: object, window: MainWindow, tmp_path: Path
) -> None:
    assert window.open_path(_twins_video(tmp_path / "twins.mp4"), None)
    wait_until(lambda: window.controller.attached)
    window.presenter.go_to(0)
    wait_until(lambda: window.canvas.frame_index == 0)
    document = window.document
    assert document is not None
    window.actions.tools[ToolKind.CLICK].trigger()
    canvas = window.canvas
    (cy, cx), other = CENTRES[0], _disk(CENTRES[1])
    with qtbot.waitSignal(canvas.edit_finished, timeout=CLICK_MS):  # type: ignore[attr-defined]
        pos = canvas.mapFromScene(QPointF(cx, cy))
        qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=pos)  # type: ignore[attr-defined]
    wait_until(lambda: not canvas.editing)
    labels = document.masks.get(0)
    assert labels is not None
    mask, clicked = labels == 1, _disk(CENTRES[0])
    assert (mask & clicked).sum() / (mask | clicked).sum() > 0.8  # the clicked disk
    assert (mask & other).sum() < 0.05 * mask.sum()  # and not its twin
