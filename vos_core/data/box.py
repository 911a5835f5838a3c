"""Boxes on the pixel grid: ``(y0, x0, y1, x1)``, end exclusive, and a mask's bounding box."""

from __future__ import annotations

import numpy as np

Box = tuple[int, int, int, int]


def mask_box(mask: np.ndarray) -> Box | None:
    """(y0, x0, y1, x1), end exclusive, of the non-zero pixels of an H×W mask; None when empty."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1
