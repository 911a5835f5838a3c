"""The simulated annotator of the rounds benchmark (:mod:`vos_core.rounds`): which frame it looks at
next, whether that frame needs a correction, and the correction it makes with clicks.

The annotator looks at the worst frame not yet corrected or reviewed (by true J or by the quality
estimate the app shows), marks it reviewed when it is right already (the app's "Mark reviewed"),
and otherwise corrects it: with its ground truth, or with at most :data:`MAX_CLICKS` simulated
clicks per object, stopping at IoU :data:`CLICK_TARGET` (the click protocol's rule).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from vos_core.metrics import region_j

MAX_CLICKS = 5
CLICK_TARGET = 0.9


class ClickTool(Protocol):
    """What the annotator clicks with (:class:`~vos_core.interactive.clicks.predictor.ClickSegmenter`)."""

    def encode(self, frame: np.ndarray) -> Any: ...

    def predict(self, enc: Any, clicks: Sequence[Any], prev_mask: np.ndarray | None = None) -> np.ndarray: ...

    def to_mask(self, prob: np.ndarray, frame: np.ndarray | None = None) -> np.ndarray: ...


def frame_truth(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean J over the ground truth's objects."""
    ids = [int(v) for v in np.unique(gt) if v != 0]
    return float(np.mean([region_j(pred == i, gt == i) for i in ids])) if ids else region_j(pred > 0, gt > 0)


def needs_correction(pred: np.ndarray, gt: np.ndarray, target: float = CLICK_TARGET) -> bool:
    """False when an annotator would leave ``pred`` as it is: every object of the ground truth has
    J ≥ ``target`` and no other object is predicted (with the click protocol's target it makes no
    click; ground-truth corrections use 1: any difference is redrawn)."""
    ids = set(np.unique(gt).tolist()) | set(np.unique(pred).tolist())
    ids.discard(0)
    return any(region_j(pred == i, gt == i) < target for i in ids) if ids else False


def correction_target(args: argparse.Namespace) -> float:
    """The J from which a frame needs no correction: the click protocol's target, 1 for ground truth."""
    return CLICK_TARGET if args.correction == "clicks" else 1.0


def pick_frame(
    args: argparse.Namespace,
    preds: list[np.ndarray],
    gts: list[np.ndarray],
    quality: dict[int, float],
    corrected: set[int],
    reviewed: set[int],
) -> tuple[int | None, int]:
    """The frame this round corrects -> (frame, frames looked at): the worst not yet corrected or
    reviewed (first and last excluded while others remain), by true J or by the quality estimate.
    A frame that needs no correction (:func:`needs_correction`) is marked reviewed (kept as it is,
    as the app's "Mark reviewed" does, and skipped by its "Go to worst frame") and the next worst
    is looked at, up to ``args.looks`` frames; the last one looked at is returned even when it
    needs none."""
    n = len(preds)
    target = correction_target(args)
    frame, looked = None, 0
    while looked < args.looks:
        skip = corrected | reviewed
        candidates = [i for i in range(1, n - 1) if i not in skip] or [i for i in range(n) if i not in skip]
        if not candidates:
            break
        if args.pick == "truth":
            frame = min(candidates, key=lambda i: frame_truth(preds[i], gts[i]))
        else:
            frame = min(candidates, key=lambda i: quality.get(i, 0.0))
        looked += 1
        if needs_correction(preds[frame], gts[frame], target):
            break
        reviewed.add(frame)
    return frame, looked


def click_correction(
    segmenter: ClickTool, rgb: np.ndarray, pred: np.ndarray, gt: np.ndarray
) -> tuple[np.ndarray, int]:
    """Correct ``pred`` (H×W labels) with simulated clicks, object by object, starting from its
    predicted mask (as the app's click tool does on a propagated frame): the protocol's next click,
    at most :data:`MAX_CLICKS`, until IoU ≥ :data:`CLICK_TARGET`. An object predicted where the
    ground truth has none (it left or is hidden) is erased, counted as one click (the app's Clear
    of that object): a click model cannot segment an absent object. -> (labels, clicks made). An
    object never takes another object's pixels."""
    from vos_core.interactive.clicks.simulate import next_click

    out = pred.copy()
    enc = None
    made = 0
    for object_id in (int(v) for v in np.union1d(np.unique(gt), np.unique(pred)) if v != 0):
        target = gt == object_id
        current = out == object_id
        if not target.any():
            if current.any():
                out[current] = 0
                made += 1
            continue
        prev: np.ndarray | None = current.astype(np.float32) if current.any() else None
        clicks = []
        while region_j(current, target) < CLICK_TARGET and len(clicks) < MAX_CLICKS:
            click = next_click(current, target)
            if click is None:
                break
            if enc is None:
                enc = segmenter.encode(rgb)
            clicks.append(click)
            prev = segmenter.predict(enc, clicks, prev)
            current = segmenter.to_mask(prev, rgb)
        made += len(clicks)
        if clicks:
            out[out == object_id] = 0
            out[current & (out == 0)] = object_id
    return out, made
