"""Vectorised mask-overlay rendering: label maps -> RGBA layers drawn over the frame."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

import numpy as np


class OverlayMode(StrEnum):
    FILL = "fill"
    CONTOUR = "contour"
    MASK = "mask"
    SIDE_BY_SIDE = "side_by_side"

    @property
    def title(self) -> str:
        return {
            OverlayMode.FILL: "Colour fill",
            OverlayMode.CONTOUR: "Contour only",
            OverlayMode.MASK: "Mask only",
            OverlayMode.SIDE_BY_SIDE: "Side by side",
        }[self]


def colour_table(
    colours: Mapping[int, tuple[int, int, int]], visible: Iterable[int], alpha: int
) -> np.ndarray:
    """256×4 uint8 RGBA lookup: row ``id`` = colour of object ``id`` with ``alpha`` when visible,
    transparent otherwise (background 0 is always transparent)."""
    table = np.zeros((256, 4), dtype=np.uint8)
    alpha = int(np.clip(alpha, 0, 255))
    for object_id in visible:
        if 0 < object_id < 256 and object_id in colours:
            r, g, b = colours[object_id]
            table[object_id] = (r, g, b, alpha)
    return table


def contour_width(width: int) -> int:
    """Contour thickness in pixels for an image ``width`` pixels wide (thicker on big frames)."""
    return max(1, int(round(width / 480)))


def edges(
    labels: np.ndarray, width: int = 1, borders: tuple[bool, bool, bool, bool] = (True, True, True, True)
) -> np.ndarray:
    """Bool map of the object pixels within ``width`` pixels of a different label, or of the image
    border where ``borders`` (top, bottom, left, right) says the array's edge is one."""
    boundary = np.zeros(labels.shape, dtype=bool)
    for d in range(1, width + 1):
        boundary[:-d] |= labels[:-d] != labels[d:]
        boundary[d:] |= labels[d:] != labels[:-d]
        boundary[:, :-d] |= labels[:, :-d] != labels[:, d:]
        boundary[:, d:] |= labels[:, d:] != labels[:, :-d]
    top, bottom, left, right = borders
    if top:
        boundary[:width] = True
    if bottom:
        boundary[-width:] = True
    if left:
        boundary[:, :width] = True
    if right:
        boundary[:, -width:] = True
    return boundary & (labels != 0)


def render(
    labels: np.ndarray,
    table: np.ndarray,
    mode: OverlayMode,
    line: int = 1,
    borders: tuple[bool, bool, bool, bool] = (True, True, True, True),
) -> np.ndarray:
    """H×W×4 RGBA overlay of ``labels`` (H×W uint8) in ``mode``.

    FILL / SIDE_BY_SIDE: translucent colours with opaque outlines; CONTOUR: opaque outlines only;
    MASK: opaque colours on black (hidden objects are black too)."""
    if mode is OverlayMode.CONTOUR:
        out = np.zeros((*labels.shape, 4), dtype=np.uint8)
        where = edges(labels, line, borders)
        rgba = table[labels[where]]
        rgba[:, 3] = np.where(rgba[:, 3] > 0, 255, 0)
        out[where] = rgba
        return out
    if mode is OverlayMode.MASK:
        opaque = table.copy()
        opaque[opaque[:, 3] == 0, :3] = 0
        opaque[:, 3] = 255
        return opaque[labels]
    out = table[labels]  # translucent fill with an opaque outline, visible on any colour
    where = edges(labels, line, borders)
    outline = out[where]
    outline[:, 3] = np.where(outline[:, 3] > 0, 255, 0)
    out[where] = outline
    return out


def render_region(
    labels: np.ndarray, table: np.ndarray, mode: OverlayMode, box: tuple[int, int, int, int], line: int = 1
) -> np.ndarray:
    """The part ``box = (x0, y0, x1, y1)`` (exclusive ends) of :func:`render`, computed from a crop
    with a margin wide enough for contours at the box's edge to come out as in the full render."""
    x0, y0, x1, y1 = box
    h, w = labels.shape
    m = line + 1
    cx0, cy0, cx1, cy1 = max(0, x0 - m), max(0, y0 - m), min(w, x1 + m), min(h, y1 + m)
    borders = (cy0 == 0, cy1 == h, cx0 == 0, cx1 == w)
    rendered = render(labels[cy0:cy1, cx0:cx1], table, mode, line, borders)
    return rendered[y0 - cy0 : y1 - cy0, x0 - cx0 : x1 - cx0]


def side_by_side_gap(width: int) -> int:
    """Gap in scene pixels between the two halves of the side-by-side view."""
    return max(4, width // 80)
