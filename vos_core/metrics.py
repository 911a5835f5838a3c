"""DAVIS evaluation measures: region similarity J (IoU) and boundary accuracy F.

Follows the DAVIS benchmark definitions (``db_eval_iou`` / ``db_eval_boundary`` with ``seg2bmap``)
and the semi-supervised protocol (first and last frame excluded, objects averaged).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vos_core.data.atomic import atomic_write_bytes

__all__ = [
    "SequenceScore",
    "boundary_f",
    "mean_jf",
    "region_j",
    "score_sequence",
    "seg2bmap",
    "write_scores_csv",
]


def _check_pair(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, gt = np.asarray(pred).astype(bool), np.asarray(gt).astype(bool)
    if pred.shape != gt.shape or pred.ndim != 2:
        raise ValueError(f"masks must be H×W with equal shapes, got {pred.shape} and {gt.shape}")
    return pred, gt


def region_j(pred: np.ndarray, gt: np.ndarray) -> float:
    """Jaccard index (IoU) of two ``H×W`` boolean masks; 1.0 when both are empty."""
    pred, gt = _check_pair(pred, gt)
    union = np.count_nonzero(pred | gt)
    if union == 0:
        return 1.0
    return float(np.count_nonzero(pred & gt) / union)


def seg2bmap(mask: np.ndarray) -> np.ndarray:
    """DAVIS boundary map of an ``H×W`` mask: a pixel is a boundary pixel if it differs from its
    right, bottom or bottom-right neighbour (last row / column compare only along the edge)."""
    seg = np.asarray(mask).astype(bool)
    east = np.zeros_like(seg)
    south = np.zeros_like(seg)
    south_east = np.zeros_like(seg)
    east[:, :-1] = seg[:, 1:]
    south[:-1, :] = seg[1:, :]
    south_east[:-1, :-1] = seg[1:, 1:]
    boundary = (seg ^ east) | (seg ^ south) | (seg ^ south_east)
    boundary[-1, :] = seg[-1, :] ^ east[-1, :]
    boundary[:, -1] = seg[:, -1] ^ south[:, -1]
    boundary[-1, -1] = False
    return boundary


def _disk(radius: int) -> np.ndarray:
    """``(2r+1)×(2r+1)`` uint8 disk: ``x² + y² <= r²``."""
    offsets = np.arange(-radius, radius + 1)
    return (offsets[:, None] ** 2 + offsets[None, :] ** 2 <= radius**2).astype(np.uint8)


def boundary_f(pred: np.ndarray, gt: np.ndarray, bound_th: float = 0.008) -> float:
    """Boundary F-measure of two ``H×W`` masks.

    Boundary pixels match if within ``ceil(bound_th * image diagonal)`` pixels (``bound_th >= 1``
    is taken as a radius in pixels). Both boundaries empty -> 1.0, exactly one empty -> 0.0.
    """
    pred, gt = _check_pair(pred, gt)
    radius = int(bound_th if bound_th >= 1 else math.ceil(bound_th * math.hypot(*pred.shape)))
    pred_boundary = seg2bmap(pred)
    gt_boundary = seg2bmap(gt)
    n_pred = int(np.count_nonzero(pred_boundary))
    n_gt = int(np.count_nonzero(gt_boundary))
    if n_pred == 0 and n_gt == 0:
        return 1.0
    if n_pred == 0 or n_gt == 0:
        return 0.0
    kernel = _disk(radius)
    pred_dilated = cv2.dilate(pred_boundary.astype(np.uint8), kernel).astype(bool)
    gt_dilated = cv2.dilate(gt_boundary.astype(np.uint8), kernel).astype(bool)
    precision = np.count_nonzero(pred_boundary & gt_dilated) / n_pred
    recall = np.count_nonzero(gt_boundary & pred_dilated) / n_gt
    if precision + recall == 0:
        return 0.0
    return float(2 * precision * recall / (precision + recall))


@dataclass(frozen=True)
class SequenceScore:
    """Scores of one sequence, averaged over frames then objects; ``jf = (j_mean + f_mean) / 2``."""

    name: str
    j_mean: float
    f_mean: float
    jf: float
    n_frames: int
    n_objects: int = 1


def score_sequence(
    preds: Sequence[np.ndarray],
    gts: Sequence[np.ndarray],
    skip_first_last: bool = True,
    name: str = "",
    bound_th: float = 0.008,
) -> SequenceScore:
    """Score predicted ``H×W`` label maps against ground truth, frame by frame.

    Objects are labels ``1..max(gt)``; each object's J and F are averaged over frames, then over
    objects. With ``skip_first_last`` (DAVIS semi-supervised protocol) the first and last frames
    are excluded when there are more than two frames.
    """
    if len(preds) != len(gts):
        raise ValueError(f"{len(preds)} predictions for {len(gts)} ground-truth frames")
    if not gts:
        raise ValueError("no frames to score")
    n_objects = max(int(np.max(gt)) for gt in gts)
    if n_objects == 0:
        raise ValueError(f"ground truth of {name or 'sequence'} contains no objects")
    pairs = list(zip(preds, gts, strict=True))
    if skip_first_last and len(pairs) > 2:
        pairs = pairs[1:-1]
    j_values = np.zeros((n_objects, len(pairs)))
    f_values = np.zeros((n_objects, len(pairs)))
    for frame, (pred, gt) in enumerate(pairs):
        pred, gt = np.asarray(pred), np.asarray(gt)
        for obj in range(1, n_objects + 1):
            j_values[obj - 1, frame] = region_j(pred == obj, gt == obj)
            f_values[obj - 1, frame] = boundary_f(pred == obj, gt == obj, bound_th)
    j_mean = float(j_values.mean(axis=1).mean())
    f_mean = float(f_values.mean(axis=1).mean())
    return SequenceScore(name, j_mean, f_mean, (j_mean + f_mean) / 2, len(pairs), n_objects)


def mean_jf(scores: Sequence[SequenceScore]) -> float:
    """Global J&F: the mean over all objects of all sequences (DAVIS "J&F-Mean")."""
    total = sum(score.n_objects for score in scores)
    if total == 0:
        raise ValueError("no scores to average")
    return float(sum(score.jf * score.n_objects for score in scores) / total)


def write_scores_csv(path: str | Path, scores: Sequence[SequenceScore]) -> None:
    """Atomically write one row per sequence: ``sequence,j_mean,f_mean,jf,n_frames,n_objects``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["sequence", "j_mean", "f_mean", "jf", "n_frames", "n_objects"])
    for score in scores:
        writer.writerow(
            [
                score.name,
                f"{score.j_mean:.6f}",
                f"{score.f_mean:.6f}",
                f"{score.jf:.6f}",
                score.n_frames,
                score.n_objects,
            ]
        )
    atomic_write_bytes(path, buffer.getvalue().encode("utf-8"))
