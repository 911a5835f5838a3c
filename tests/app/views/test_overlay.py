"""Overlay rendering: modes, hidden objects, partial (region) renders equal the full render."""

from __future__ import annotations

import numpy as np
import pytest

from app.views.overlay import OverlayMode, colour_table, edges, render, render_region


@pytest.fixture
def labels() -> np.ndarray:
    lab = np.zeros((50, 70), np.uint8)
    lab[5:30, 10:40] = 1
    lab[20:45, 30:69] = 2
    lab[0:3, :5] = 3
    return lab


def test_fill_uses_colour_and_opacity_and_hides_objects(labels: np.ndarray) -> None:
    table = colour_table({1: (255, 0, 0), 2: (0, 255, 0), 3: (0, 0, 255)}, visible=[1, 3], alpha=128)
    out = render(labels, table, OverlayMode.FILL)
    assert out.shape == (50, 70, 4)
    assert tuple(out[10, 15]) == (255, 0, 0, 128)
    assert out[40, 60, 3] == 0  # object 2 is hidden
    assert out[48, 2, 3] == 0  # background


def test_contour_only_draws_edges(labels: np.ndarray) -> None:
    table = colour_table({1: (255, 0, 0), 2: (0, 255, 0), 3: (0, 0, 255)}, visible=[1, 2, 3], alpha=100)
    out = render(labels, table, OverlayMode.CONTOUR)
    assert out[15, 20, 3] == 0  # inside object 1
    assert tuple(out[5, 20]) == (255, 0, 0, 255)  # its top edge, opaque
    assert edges(labels).sum() == (out[..., 3] > 0).sum()


def test_mask_only_is_opaque_with_black_background(labels: np.ndarray) -> None:
    table = colour_table({1: (255, 0, 0), 2: (0, 255, 0)}, visible=[1], alpha=50)
    out = render(labels, table, OverlayMode.MASK)
    assert (out[..., 3] == 255).all()
    assert tuple(out[10, 15, :3]) == (255, 0, 0)
    assert tuple(out[40, 60, :3]) == (0, 0, 0)  # hidden object drawn as background


@pytest.mark.parametrize("mode", list(OverlayMode))
@pytest.mark.parametrize("line", [1, 2])
def test_region_render_matches_full_render(labels: np.ndarray, mode: OverlayMode, line: int) -> None:
    table = colour_table({1: (255, 0, 0), 2: (0, 255, 0), 3: (0, 0, 255)}, visible=[1, 2, 3], alpha=128)
    full = render(labels, table, mode, line)
    rng = np.random.default_rng(0)
    for _ in range(40):
        x0, x1 = sorted(rng.choice(71, 2, replace=False))
        y0, y1 = sorted(rng.choice(51, 2, replace=False))
        part = render_region(labels, table, mode, (x0, y0, x1, y1), line)
        np.testing.assert_array_equal(part, full[y0:y1, x0:x1])
