"""The correction state of a frame: what a person did to it, and so what the engine may learn from it.

A frame with a mask is in one of these states (:func:`review_state`):

- ``"corrected"``: a reference. The user's own mask, made deliberately: a paint, erase, polygon,
  box or click stroke, an import, or "Use as reference" (Ctrl+M). It is a permanent memory entry.
- ``"reviewed"``: a person checked the frame but did not correct it: "Mark reviewed" (a key, no
  change), or an edit that is no correction (:func:`is_correction`): a key (Fill holes, Clear
  frame) or a tiny change of a propagated mask. The mask is kept as it is (a run never overwrites
  it) but it is *not* a reference: the engine does not learn from it.
- ``"user"``: the user's mask, marked "not a reference" by hand (Ctrl+M unchecked).
- ``"propagated"``: the engine's prediction, untouched.

The tiny-change rule: an edit of a propagated (or reviewed) mask is tiny when fewer pixels changed
than ``max(TINY_PIXELS, TINY_FRACTION × the object area)`` (area: foreground pixels of the mask
before or after, the larger). A stray click of the brush changes a few dozen pixels; a correction
of a wrong prediction changes far more than 1 % of the object.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from app.model.mask_files import MaskSource

ReviewState = Literal["corrected", "reviewed", "user", "propagated"]

#: edits made by one key press, never a correction by themselves
KEY_EDITS = frozenset({"Fill holes", "Clear frame"})
#: an edit of a propagated mask changing fewer pixels than this is tiny ...
TINY_PIXELS = 32
#: ... or fewer than this fraction of the object's pixels
TINY_FRACTION = 0.01


def changed_pixels(before: np.ndarray | None, after: np.ndarray | None) -> int:
    """Pixels whose label differs (a missing mask counts as all background)."""
    if before is None and after is None:
        return 0
    if before is None:
        return int(np.count_nonzero(after))
    if after is None:
        return int(np.count_nonzero(before))
    return int(np.count_nonzero(before != after))


def is_tiny(before: np.ndarray | None, after: np.ndarray | None) -> bool:
    """True when the change from ``before`` to ``after`` (H×W labels) is below the tiny rule."""
    area = max(
        int(np.count_nonzero(before)) if before is not None else 0,
        int(np.count_nonzero(after)) if after is not None else 0,
    )
    return changed_pixels(before, after) < max(TINY_PIXELS, TINY_FRACTION * area)


def is_correction(
    before: np.ndarray | None, before_state: ReviewState | None, after: np.ndarray | None, text: str
) -> bool:
    """Does this edit by the user (``text``: the canvas's name for it) make the frame a reference?

    Edits of a frame that is already a correction, or of one without a mask, are corrections; an
    edit of a propagated or reviewed mask is one unless it is a key edit or tiny."""
    if before_state not in ("propagated", "reviewed") or before is None:
        return True
    return text not in KEY_EDITS and not is_tiny(before, after)


def review_state(
    source: MaskSource | None, is_reference: bool, reviewed: bool
) -> ReviewState | None:
    """The state of a frame from its mask source, reference mark and review mark (None: no mask)."""
    if source is None:
        return None
    if source == "propagated":
        return "propagated"
    if is_reference:
        return "corrected"
    return "reviewed" if reviewed else "user"
