"""Zoom-in for click inference (as in RITM / f-BRS): after the first click(s), the model runs on a
crop around the current mask and the clicks, resized up to the model's input size, and the crop's
prediction is pasted back into the frame.

The crop: the bounding box of the previous mask (probability > 0.5) and the positive clicks,
expanded about its centre by :attr:`ZoomIn.expansion`, at least :attr:`ZoomIn.min_crop` of the
frame's short side, widened to one of a few fixed aspect ratios (so the encoder sees a handful of
input sizes), and moved inside the frame. Its long side is resized to :attr:`ZoomIn.size`.
Coordinates here are frame pixels; boxes are ``(y0, x0, y1, x1)``, end exclusive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from vos_core.data.box import Box, mask_box
from vos_core.interactive.clicks.simulate import Click

__all__ = [
    "ASPECTS",
    "DEFAULT_ZOOM",
    "Box",
    "ZoomIn",
    "confine",
    "crop_box",
    "input_size",
    "input_sizes",
    "mask_box",
]

#: long side / short side ratios a crop is widened to (one encoder input size each, per orientation)
ASPECTS = (1.0, 1.5, 2.0)


@dataclass(frozen=True)
class ZoomIn:
    """When and how far to zoom.

    ``skip_clicks``: clicks made on the whole frame before zooming (RITM: 1; 2 scored better here);
    ``early``: the first ``early`` of those clicks run twice, on the whole frame and then again on
    the zoom crop around that prediction, with it as the previous mask, when that enlarges the crop
    at least ``early_gain`` times (small objects get their boundary at the zoomed scale from the
    first click on; 0: off); ``early_band``: that second pass changes only pixels within this
    fraction of the first pass's short side (bounding box) of its mask (it sharpens the boundary and
    does not grow into a touching look-alike; 0: anywhere in the crop);
    ``expansion``: crop side / box side; ``min_crop``: smallest crop side as a fraction of the
    frame's short side; ``size``: long side of the crop at the model input (pixels, multiple of 16);
    ``min_gain``: zoom
    only when that enlarges the crop at least this much compared with the whole-frame working scale
    (else the cached whole-frame features are used)."""

    skip_clicks: int = 2
    early: int = 0
    early_gain: float = 4.0
    early_band: float = 0.0
    expansion: float = 1.4
    min_crop: float = 0.4
    size: int = 640
    min_gain: float = 1.1


#: the zoom the shipped segmenter uses
DEFAULT_ZOOM = ZoomIn()


def _fit(lo: float, length: float, limit: int) -> tuple[int, int]:
    """An interval of ``length`` starting near ``lo``, moved (and if need be cut) into [0, limit)."""
    length = min(float(limit), length)
    lo = min(max(0.0, lo), limit - length)
    a = int(round(lo))
    return a, min(limit, max(a + 1, int(round(lo + length))))


def crop_box(
    prev: np.ndarray | None, clicks: Sequence[Click], frame_hw: tuple[int, int], zoom: ZoomIn
) -> Box | None:
    """prev: H×W probability or bool mask (or None); clicks in frame pixels -> the zoom crop, or
    None when there is nothing to zoom on (no mask and no positive click)."""
    h, w = frame_hw
    ys: list[float] = [c.y for c in clicks if c.positive]
    xs: list[float] = [c.x for c in clicks if c.positive]
    bounds = mask_box(prev > 0.5) if prev is not None else None
    if bounds is not None:
        ys += [float(bounds[0]), float(bounds[2] - 1)]
        xs += [float(bounds[1]), float(bounds[3] - 1)]
    if not ys:
        return None
    cy, cx = (min(ys) + max(ys) + 1) / 2, (min(xs) + max(xs) + 1) / 2
    side_min = zoom.min_crop * min(h, w)
    bh = max((max(ys) - min(ys) + 1) * zoom.expansion, side_min)
    bw = max((max(xs) - min(xs) + 1) * zoom.expansion, side_min)
    long_, short = max(bh, bw), min(bh, bw)
    ratio = max(a for a in ASPECTS if a <= long_ / short)
    short = long_ / ratio
    bh, bw = (long_, short) if bh >= bw else (short, long_)
    y0, y1 = _fit(cy - bh / 2, bh, h)
    x0, x1 = _fit(cx - bw / 2, bw, w)
    return y0, x0, y1, x1


def _short_side(size: int, ratio: float) -> int:
    return max(16, int(round(size / ratio / 16)) * 16)


def input_size(box: Box, size: int) -> tuple[int, int]:
    """The model-input (H, W) of a crop: long side ``size``, the short side by the crop's aspect
    snapped to :data:`ASPECTS` (a multiple of 16), so few distinct sizes occur."""
    y0, x0, y1, x1 = box
    bh, bw = y1 - y0, x1 - x0
    ratio = min(ASPECTS, key=lambda a: abs(a - max(bh, bw) / min(bh, bw)))
    short = _short_side(size, ratio)
    return (size, short) if bh >= bw else (short, size)


def input_sizes(size: int) -> list[tuple[int, int]]:
    """Every model-input (H, W) :func:`input_size` can give for ``size`` (e.g. to warm up an encoder)."""
    return sorted(
        {hw for a in ASPECTS for hw in ((size, _short_side(size, a)), (_short_side(size, a), size))}
    )


def confine(first: np.ndarray, second: np.ndarray, band: float) -> np.ndarray:
    """first, second: H×W probabilities (a prediction and its zoomed second pass) -> H×W float32:
    ``second`` within ``band`` times the short side of the bounding box of ``first`` > 0.5 (at
    least 1 px) around that mask, ``first`` elsewhere (``second`` everywhere when ``first`` is empty)."""
    mask = first > 0.5
    box = mask_box(mask)
    if box is None:
        return second.astype(np.float32, copy=True)
    r = max(1, int(round(band * min(box[2] - box[0], box[3] - box[1]))))
    near = cv2.dilate(mask.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2))
    return np.where(near > 0, second, first).astype(np.float32)
