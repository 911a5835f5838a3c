"""Simulated clicks: the standard automatic protocol's next click, and initial clicks for training.

:func:`next_click` is the one home of the protocol rule (used by training and by the evaluation):
the next click goes to the point farthest from the boundary of the largest error region, positive
when that region is a false negative, negative when it is a false positive. With an empty
prediction the first click lands at the centre of the object.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vos_core.data.box import mask_box


@dataclass(frozen=True)
class Click:
    """One click at pixel ``(y, x)`` of the image; ``positive`` adds, negative removes."""

    y: float
    x: float
    positive: bool


def _inner_distance(mask: np.ndarray) -> np.ndarray:
    """H×W bool -> distance of each mask pixel to the nearest non-mask pixel (image border counts
    as outside), 0 outside the mask."""
    padded = np.pad(mask.astype(np.uint8), 1)
    return cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]


def next_click(pred: np.ndarray, gt: np.ndarray, ignore: np.ndarray | None = None) -> Click | None:
    """pred, gt: H×W bool. The protocol's next click (None when there is no error).

    ``ignore`` (H×W bool, optional) marks pixels that are not scored (e.g. DAVIS void)."""
    fn = gt & ~pred
    fp = pred & ~gt
    if ignore is not None:
        fn, fp = fn & ~ignore, fp & ~ignore
    if not fn.any() and not fp.any():
        return None
    dfn, dfp = _inner_distance(fn), _inner_distance(fp)
    positive = float(dfn.max()) >= float(dfp.max())
    dist = dfn if positive else dfp
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return Click(float(y), float(x), positive)


def random_interior_point(
    mask: np.ndarray, rng: np.random.Generator, min_rel: float = 0.3
) -> tuple[int, int] | None:
    """A random pixel of ``mask`` at least ``min_rel`` of the maximal depth from its boundary."""
    d = _inner_distance(mask)
    top = float(d.max())
    if top <= 0:
        return None
    ys, xs = np.nonzero(d >= max(1.0, min_rel * top))
    i = int(rng.integers(len(ys)))
    return int(ys[i]), int(xs[i])


def initial_clicks(
    gt: np.ndarray, rng: np.random.Generator, max_pos: int = 3, max_neg: int = 3
) -> list[Click]:
    """Training start: one positive click inside the object, sometimes a few more positive clicks and
    a few negative clicks in the background near the object (RITM-style random sampling)."""
    clicks: list[Click] = []
    first = random_interior_point(gt, rng)
    if first is None:
        return clicks
    clicks.append(Click(float(first[0]), float(first[1]), True))
    if rng.random() < 0.4:
        for _ in range(int(rng.integers(1, max_pos))):
            p = random_interior_point(gt, rng, 0.1)
            if p is not None:
                clicks.append(Click(float(p[0]), float(p[1]), True))
    if rng.random() < 0.4:
        size = max(3, int(0.08 * min(gt.shape)))
        ring = cv2.dilate(gt.astype(np.uint8), np.ones((size, size), np.uint8)).astype(bool) & ~gt
        near = ring if ring.any() and rng.random() < 0.7 else ~gt
        for _ in range(int(rng.integers(1, max_neg + 1))):
            p = random_interior_point(near, rng, 0.0)
            if p is not None:
                clicks.append(Click(float(p[0]), float(p[1]), False))
    return clicks


def distractor_clicks(others: np.ndarray, rng: np.random.Generator, most: int = 3) -> list[Click]:
    """Negative clicks inside 1 to ``most`` of the distractors (connected regions of ``others``,
    H×W bool, larger than 16 pixels), one each at a random interior point."""
    count, labels = cv2.connectedComponents(others.astype(np.uint8), connectivity=8)
    regions = [k for k in range(1, count) if int((labels == k).sum()) > 16]
    clicks: list[Click] = []
    for k in rng.permutation(regions)[: int(rng.integers(1, most + 1))]:
        p = random_interior_point(labels == k, rng)
        if p is not None:
            clicks.append(Click(float(p[0]), float(p[1]), False))
    return clicks


def jittered_box(
    gt: np.ndarray, rng: np.random.Generator, jitter: float = 0.1
) -> tuple[int, int, int, int] | None:
    """The object's bounding box (y0, x0, y1, x1; end exclusive), each side moved by up to
    ``jitter`` of the box size, clipped to the image."""
    box = mask_box(gt)
    if box is None:
        return None
    h, w = gt.shape
    y0, x0, y1, x1 = box
    bh, bw = y1 - y0, x1 - x0
    j = rng.uniform(-jitter, jitter, 4)
    y0 = int(np.clip(y0 + j[0] * bh, 0, h - 1))
    x0 = int(np.clip(x0 + j[1] * bw, 0, w - 1))
    y1 = int(np.clip(y1 + j[2] * bh, y0 + 1, h))
    x1 = int(np.clip(x1 + j[3] * bw, x0 + 1, w))
    return y0, x0, y1, x1


def perturbed_mask(gt: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A plausible wrong mask of the object (a propagated mask to correct): dilated or eroded,
    shifted, with a random blob added or cut."""
    h, w = gt.shape
    m = gt.astype(np.uint8)
    k = max(3, int(rng.uniform(0.01, 0.06) * min(h, w)))
    kernel = np.ones((k, k), np.uint8)
    m = cv2.dilate(m, kernel) if rng.random() < 0.5 else cv2.erode(m, kernel)
    shift = rng.uniform(-0.05, 0.05, 2) * np.array([w, h])
    m = cv2.warpAffine(m, np.float32([[1, 0, shift[0]], [0, 1, shift[1]]]), (w, h), flags=cv2.INTER_NEAREST)
    cy, cx = rng.integers(0, h), rng.integers(0, w)
    r = int(rng.uniform(0.05, 0.2) * min(h, w))
    cv2.circle(m, (int(cx), int(cy)), r, int(rng.random() < 0.5), -1)
    return m.astype(bool)
