"""Tests for the DAVIS J / F measures and sequence scoring."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from vos_core.metrics import (
    SequenceScore,
    boundary_f,
    mean_jf,
    region_j,
    score_sequence,
    seg2bmap,
    write_scores_csv,
)


def square(top: int, left: int, side: int = 10, shape: tuple[int, int] = (64, 64)) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[top : top + side, left : left + side] = True
    return mask


def test_identical_masks() -> None:
    mask = square(10, 10)
    assert region_j(mask, mask) == 1.0
    assert boundary_f(mask, mask) == 1.0


def test_disjoint_masks() -> None:
    a, b = square(5, 5), square(40, 40)
    assert region_j(a, b) == 0.0
    assert boundary_f(a, b) == 0.0


def test_half_overlap_j() -> None:
    # 10×10 squares shifted by 5 columns: intersection 50 px, union 150 px.
    assert region_j(square(10, 10), square(10, 15)) == pytest.approx(1 / 3)


def test_empty_conventions() -> None:
    empty = np.zeros((64, 64), bool)
    assert region_j(empty, empty) == 1.0 and boundary_f(empty, empty) == 1.0
    assert region_j(square(1, 1), empty) == 0.0 and boundary_f(square(1, 1), empty) == 0.0
    assert region_j(empty, square(1, 1)) == 0.0 and boundary_f(empty, square(1, 1)) == 0.0


def test_seg2bmap_single_pixel() -> None:
    mask = np.zeros((4, 4), bool)
    mask[1, 1] = True
    expected = np.zeros((4, 4), bool)
    expected[[0, 0, 1, 1], [0, 1, 0, 1]] = True
    np.testing.assert_array_equal(seg2bmap(mask), expected)
    full = np.ones((4, 4), bool)
    assert not seg2bmap(full).any()


def test_one_pixel_shift_within_tolerance() -> None:
    # 64×64: diagonal 90.5 px -> radius ceil(0.008 * 90.5) = 1 px.
    gt, pred = square(20, 20, 16), square(20, 21, 16)
    assert region_j(pred, gt) < 1.0
    assert boundary_f(pred, gt) == 1.0
    assert boundary_f(square(20, 24, 16), gt) < 1.0  # 4 px is outside the tolerance


def test_pixel_tolerance_and_shape_checks() -> None:
    gt, pred = square(20, 20, 16), square(20, 23, 16)
    assert boundary_f(pred, gt, bound_th=3) == 1.0
    assert boundary_f(pred, gt, bound_th=2) < 1.0
    with pytest.raises(ValueError):
        region_j(np.zeros((4, 4)), np.zeros((4, 5)))


def test_score_sequence_skips_first_and_last() -> None:
    gts, preds = [], []
    for i in range(5):
        gt = np.zeros((64, 64), np.uint8)
        gt[square(10, 5 + i)] = 1
        gt[square(40, 40)] = 2
        gts.append(gt)
        preds.append(gt.copy() if 0 < i < 4 else np.zeros_like(gt))
    score = score_sequence(preds, gts, name="toy")
    assert score == SequenceScore("toy", 1.0, 1.0, 1.0, n_frames=3, n_objects=2)
    everything = score_sequence(preds, gts, skip_first_last=False)
    assert everything.n_frames == 5
    assert everything.j_mean == pytest.approx(3 / 5) and everything.f_mean == pytest.approx(3 / 5)
    # One object right, the other missing in the middle frames: mean over objects.
    half = [gt.copy() for gt in gts]
    for pred in half[1:-1]:
        pred[pred == 2] = 0
    assert score_sequence(half, gts).j_mean == pytest.approx(0.5)
    with pytest.raises(ValueError):
        score_sequence(preds[:3], gts)
    with pytest.raises(ValueError):
        score_sequence([np.zeros((4, 4))] * 3, [np.zeros((4, 4), np.uint8)] * 3)


def test_mean_jf_and_csv(tmp_path: Path) -> None:
    scores = [
        SequenceScore("a", 0.8, 0.6, 0.7, 10, n_objects=1),
        SequenceScore("b", 0.5, 0.3, 0.4, 20, n_objects=2),
    ]
    assert mean_jf(scores) == pytest.approx((0.7 + 2 * 0.4) / 3)
    with pytest.raises(ValueError):
        mean_jf([])
    path = tmp_path / "scores.csv"
    write_scores_csv(path, scores)
    rows = list(csv.DictReader(path.open()))
    assert [row["sequence"] for row in rows] == ["a", "b"]
    assert float(rows[1]["jf"]) == pytest.approx(0.4) and rows[1]["n_frames"] == "20"
    assert [p.name for p in tmp_path.iterdir()] == ["scores.csv"]
