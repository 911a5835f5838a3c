"""Click-local steps after the first clicks (in the spirit of FocalClick): a later click corrects
a detail, so what it changes should stay near it, and the detail should be seen at full resolution.

- :func:`merge_near_click` (progressive merge): of the pixels whose label the new prediction flips,
  only the connected regions touching the new click are taken; the rest of the frame keeps the
  previous mask (a click on a dog's ear no longer adds a pole across the frame).
- :func:`local_box`: a small square around the new click (twice the size of what the click
  flipped, or a fraction of the object's size when it flipped nothing), which the segmenter
  enlarges to :attr:`LocalRefine.size`, runs the head on with the clicks inside it and the merged
  mask as the previous mask, and pastes back inside the square only (a kite line of 1-2 pixels
  becomes 4-8 pixels wide at the model input).
Coordinates are frame pixels; boxes are ``(y0, x0, y1, x1)``, end exclusive.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vos_core.data.box import Box, mask_box
from vos_core.interactive.clicks.simulate import Click


@dataclass(frozen=True)
class LocalRefine:
    """When and how the click-local steps run.

    ``skip_clicks``: clicks before the local steps start (the first ones shape the whole object;
    1 and 2 scored better NoC@90 on the dev first frames but worse on the ECSSD held-out split);
    ``global_run``: the whole-frame (or zoom-in) prediction runs first (else only the local
    square changes); ``merge``: of that prediction, keep only the label flips connected to the
    new click (:func:`merge_near_click`); ``touch``: radius (frame pixels) around the click within
    which a flipped region counts as touching it; the local square's side (:func:`local_box`):
    ``focus_expansion`` times the size of the flips the click made, else ``rel_side`` times the
    mask's size, clipped to [``min_side``, ``max_side``] frame pixels; ``size``: the square's side
    at the model input (multiple of 16; 0 = no local re-run, only the merge)."""

    skip_clicks: int = 3
    global_run: bool = True
    merge: bool = True
    touch: int = 3
    rel_side: float = 0.3
    focus_expansion: float = 2.0
    min_side: int = 48
    max_side: int = 192
    size: int = 256


def merge_near_click(prev: np.ndarray, new: np.ndarray, click: Click, touch: int) -> np.ndarray:
    """prev, new: H×W probabilities (before and after the click) -> H×W float32: ``new`` on the
    connected regions of flipped pixels (prev > 0.5 differs from new > 0.5) that come within
    ``touch`` pixels of the click, together with the pixels whose label did not flip; ``prev`` on
    every other flipped pixel."""
    flipped = ((prev > 0.5) != (new > 0.5)).astype(np.uint8)
    out = new.astype(np.float32, copy=True)
    if not flipped.any():
        return out
    count, labels = cv2.connectedComponents(flipped, connectivity=8)
    h, w = flipped.shape
    y, x = int(round(click.y)), int(round(click.x))
    near = labels[max(0, y - touch) : min(h, y + touch + 1), max(0, x - touch) : min(w, x + touch + 1)]
    keep = np.zeros(count, bool)
    keep[np.unique(near)] = True
    keep[0] = True  # label 0: pixels that did not flip take the new probability
    far = ~keep[labels]
    out[far] = prev[far]
    return out


def _extent(mask: np.ndarray) -> int:
    """The long side of the bounding box of an H×W bool mask (0 when empty)."""
    box = mask_box(mask)
    return 0 if box is None else max(box[2] - box[0], box[3] - box[1])


def local_box(
    prev: np.ndarray,
    click: Click,
    frame_hw: tuple[int, int],
    cfg: LocalRefine,
    focus: np.ndarray | None = None,
) -> Box:
    """The local square around ``click``. Its side: ``focus_expansion`` times the long side of the
    bounding box of ``focus`` (H×W bool: the label flips the click made, when any), else
    ``rel_side`` times that of ``prev`` > 0.5 (H×W; the frame's short side when empty); clipped
    to [min_side, max_side] and to the frame, the square moved inside the frame."""
    h, w = frame_hw
    flipped = _extent(focus) if focus is not None else 0
    if flipped:
        wanted = cfg.focus_expansion * flipped
    else:
        wanted = cfg.rel_side * (_extent(prev > 0.5) or min(h, w))
    side = int(round(min(max(wanted, cfg.min_side), cfg.max_side, h, w)))
    y0 = min(max(0, int(round(click.y - side / 2))), h - side)
    x0 = min(max(0, int(round(click.x - side / 2))), w - side)
    return y0, x0, y0 + side, x0 + side
