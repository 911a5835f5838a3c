"""The standard automatic click protocol (NoC) and the methods it scores.

For one object: start from an empty prediction; each click goes where
:func:`~vos_core.interactive.clicks.simulate.next_click` puts it (the first at the object's centre),
the method predicts, and the IoU with the ground truth is recorded, up to ``max_clicks``. NoC@t is
the first click count reaching IoU >= t (``max_clicks`` when never reached). When the object has
distractors (``others``: other instances, look-alikes), the first click's leak onto them is recorded.

Methods: :class:`ModelMethod` (the click model; the frame is encoded once per object, each click
runs only the head) and :class:`GrabCutMethod` (baseline: OpenCV GrabCut from the object's tight
box, every click adds a definite foreground/background disk and GrabCut re-runs from its state).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

import cv2
import numpy as np

from vos_core.data.box import mask_box
from vos_core.interactive.clicks.predictor import ClickSegmenter
from vos_core.interactive.clicks.simulate import Click, next_click

THRESHOLDS = (0.85, 0.90)
REPORT_CLICKS = (1, 3, 5)


class Sample(NamedTuple):
    """One object to score: ``image`` H×W×3 RGB, ``gt`` H×W bool; ``others`` H×W bool, the other
    instances / distractors in the image (None when not known)."""

    name: str
    image: np.ndarray
    gt: np.ndarray
    others: np.ndarray | None = None


class Method(Protocol):
    """An interactive segmenter scored by the protocol."""

    name: str

    def start(self, image: np.ndarray, gt: np.ndarray) -> None:
        """A new object on ``image`` (H×W×3 RGB); ``gt`` (H×W bool) is only for a box baseline."""

    def click(self, clicks: Sequence[Click]) -> np.ndarray:
        """All clicks so far -> H×W bool prediction."""


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = int((a | b).sum())
    return 1.0 if union == 0 else int((a & b).sum()) / union


@dataclass
class Trace:
    """IoU after each click (index 0 = after click 1) and the seconds spent per click; with
    distractors, after the first click: ``leak`` the fraction of the predicted pixels on them and
    ``leak_iou`` the IoU of the prediction with them (None without distractors)."""

    ious: list[float] = field(default_factory=list)
    click_seconds: list[float] = field(default_factory=list)
    start_seconds: float = 0.0
    leak: float | None = None
    leak_iou: float | None = None

    def noc(self, threshold: float, max_clicks: int) -> int:
        for k, value in enumerate(self.ious, start=1):
            if value >= threshold:
                return k
        return max_clicks

    def iou_at(self, k: int) -> float:
        """IoU after ``k`` clicks (the last one recorded when the run stopped earlier)."""
        return self.ious[min(k, len(self.ious)) - 1]


def run_protocol(
    method: Method, image: np.ndarray, gt: np.ndarray, max_clicks: int = 20, others: np.ndarray | None = None
) -> Trace:
    """Score one object (``others``: H×W bool distractors, for the leak of the first click). Stops
    early once every NoC threshold and every reported click count is reached (later clicks change
    no reported number)."""
    trace = Trace()
    t0 = time.perf_counter()
    method.start(image, gt)
    trace.start_seconds = time.perf_counter() - t0
    pred = np.zeros_like(gt)
    clicks: list[Click] = []
    for k in range(1, max_clicks + 1):
        nc = next_click(pred, gt)
        if nc is None:  # perfect: no click left to make
            trace.ious.append(1.0)
        else:
            clicks.append(nc)
            t0 = time.perf_counter()
            pred = method.click(clicks)
            trace.click_seconds.append(time.perf_counter() - t0)
            trace.ious.append(iou(pred, gt))
        if k == 1 and others is not None and others.any():
            trace.leak = int((pred & others).sum()) / max(1, int(pred.sum()))
            trace.leak_iou = iou(pred, others)
        if k >= max(REPORT_CLICKS) and trace.ious[-1] >= max(THRESHOLDS):
            break
    return trace


class ModelMethod:
    """The click model: encode once in ``start``, one head run per click, previous prediction fed back."""

    name = "model"

    def __init__(self, segmenter: ClickSegmenter) -> None:
        self.segmenter = segmenter
        self._enc = None
        self._image: np.ndarray | None = None
        self._prev: np.ndarray | None = None

    def start(self, image: np.ndarray, gt: np.ndarray) -> None:
        self._enc = self.segmenter.encode(image)
        self._image = image
        self._prev = None

    def click(self, clicks: Sequence[Click]) -> np.ndarray:
        assert self._enc is not None, "start() first"
        prob = self.segmenter.predict(self._enc, clicks, self._prev)
        self._prev = prob
        return self.segmenter.to_mask(prob, self._image)


class GrabCutMethod:
    """Baseline: GrabCut from the tight box of the object, clicks as hard seeds (disks)."""

    name = "grabcut"

    def __init__(self, max_side: int = 400, iterations: int = 5, radius: int = 5) -> None:
        self.max_side, self.iterations, self.radius = max_side, iterations, radius
        self._bgr: np.ndarray | None = None
        self._mask: np.ndarray | None = None
        self._models = (np.zeros((1, 65)), np.zeros((1, 65)))
        self._scale = 1.0
        self._hw = (0, 0)

    def start(self, image: np.ndarray, gt: np.ndarray) -> None:
        self._hw = gt.shape
        self._scale = min(1.0, self.max_side / max(gt.shape))
        bgr = np.ascontiguousarray(image[..., ::-1])
        if self._scale < 1.0:
            bgr = cv2.resize(bgr, None, fx=self._scale, fy=self._scale, interpolation=cv2.INTER_AREA)
        self._bgr = bgr
        box = mask_box(gt)
        assert box is not None, "the protocol scores non-empty objects only"
        y0, x0, y1, x1 = (int(v * self._scale) for v in box)
        h, w = bgr.shape[:2]
        y1, x1 = min(h, max(y1, y0 + 2)), min(w, max(x1, x0 + 2))
        self._mask = np.zeros((h, w), np.uint8)
        self._models = (np.zeros((1, 65)), np.zeros((1, 65)))
        try:
            cv2.grabCut(
                bgr,
                self._mask,
                (x0, y0, x1 - x0, y1 - y0),
                *self._models,
                self.iterations,
                cv2.GC_INIT_WITH_RECT,
            )
        except cv2.error:  # degenerate box (e.g. the whole image): all box pixels probable foreground
            self._mask[y0:y1, x0:x1] = cv2.GC_PR_FGD

    def click(self, clicks: Sequence[Click]) -> np.ndarray:
        assert self._bgr is not None and self._mask is not None, "start() first"
        for c in clicks:
            value = cv2.GC_FGD if c.positive else cv2.GC_BGD
            cv2.circle(self._mask, (int(c.x * self._scale), int(c.y * self._scale)), self.radius, value, -1)
        fg = (self._mask == cv2.GC_FGD) | (self._mask == cv2.GC_PR_FGD)
        if fg.any() and not fg.all():
            try:
                cv2.grabCut(self._bgr, self._mask, None, *self._models, 2, cv2.GC_INIT_WITH_MASK)
            except cv2.error:
                pass
        fg = ((self._mask == cv2.GC_FGD) | (self._mask == cv2.GC_PR_FGD)).astype(np.uint8)
        if self._scale < 1.0:
            fg = cv2.resize(fg, (self._hw[1], self._hw[0]), interpolation=cv2.INTER_NEAREST)
        return fg.astype(bool)
