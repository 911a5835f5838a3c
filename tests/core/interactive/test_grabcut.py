"""Box-to-mask with GrabCut (``vos_core.interactive.grabcut``; the app runs it on a worker)."""

from __future__ import annotations

import numpy as np

from vos_core import grabcut_box


def test_grabcut_finds_the_square_inside_the_box() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(60, 120, (120, 160, 3)).astype(np.uint8)
    image[40:70, 50:80] = (220, 40, 40)
    mask = grabcut_box(image, (42, 32, 90, 78))
    truth = np.zeros(mask.shape, bool)
    truth[40:70, 50:80] = True
    iou = (mask & truth).sum() / (mask | truth).sum()
    assert iou > 0.9
    assert not mask[:32].any() and not mask[:, :42].any()
