"""Box-to-mask with OpenCV GrabCut (the app runs it on a worker thread, ``app.workers.grabcut``)."""

from __future__ import annotations

import cv2
import numpy as np

Box = tuple[int, int, int, int]

MAX_SIDE = 360  # crops are downscaled to at most this many pixels per side
ITERATIONS = 4
#: GrabCut "found" the object only when its foreground leaves out more than this share of the box:
#: a foreground that is (nearly) the whole box separated nothing
WHOLE_BOX = 0.98


def grabcut_box(rgb: np.ndarray, box: Box, iterations: int = ITERATIONS) -> np.ndarray:
    """H×W bool mask of the foreground that GrabCut finds inside ``box`` (x0, y0, x1, y1, exclusive).

    Works on a crop around the box (with a margin of background), downscaled when large. When GrabCut
    cannot find an object in the box (no foreground, a foreground that is the whole box, no
    background around the box to learn from, a box too small) the mask is *empty*: the caller tells
    the user, never passing the box itself off as the object."""
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = max(0, box[0]), max(0, box[1]), min(w, box[2]), min(h, box[3])
    out = np.zeros((h, w), dtype=bool)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return out
    margin = max(8, (x1 - x0 + y1 - y0) // 8)
    cx0, cy0, cx1, cy1 = max(0, x0 - margin), max(0, y0 - margin), min(w, x1 + margin), min(h, y1 + margin)
    crop = np.ascontiguousarray(rgb[cy0:cy1, cx0:cx1, ::-1])  # GrabCut wants BGR
    scale = min(1.0, MAX_SIDE / max(crop.shape[:2]))
    if scale < 1.0:
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ch, cw = crop.shape[:2]
    rx0, ry0 = int((x0 - cx0) * scale), int((y0 - cy0) * scale)
    rx1, ry1 = min(cw, int(np.ceil((x1 - cx0) * scale))), min(ch, int(np.ceil((y1 - cy0) * scale)))
    has_background = rx0 > 0 or ry0 > 0 or rx1 < cw or ry1 < ch
    fg = None
    if has_background and rx1 - rx0 >= 2 and ry1 - ry0 >= 2:
        mask = np.zeros((ch, cw), dtype=np.uint8)
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        try:
            cv2.grabCut(
                crop, mask, (rx0, ry0, rx1 - rx0, ry1 - ry0), bgd, fgd, iterations, cv2.GC_INIT_WITH_RECT
            )
            fg = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.uint8)
        except cv2.error:
            fg = None
    if fg is None or fg[ry0:ry1, rx0:rx1].mean() >= WHOLE_BOX:  # nothing, or nothing separated
        return out
    if scale < 1.0:
        fg = cv2.resize(fg, (cx1 - cx0, cy1 - cy0), interpolation=cv2.INTER_NEAREST)
    out[cy0:cy1, cx0:cx1] = fg.astype(bool)
    inside = np.zeros_like(out)
    inside[y0:y1, x0:x1] = True
    return out & inside
