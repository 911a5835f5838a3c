"""Quality features: one row of every feature per object, references from given masks."""

from __future__ import annotations

import numpy as np
import torch

from vos_core.quality.features import FEATURE_NAMES, N_FEATURES, QualityFeatures
from vos_core.quality.rank import spearman

IDS = (1, 2)


def one_hot(labels: np.ndarray, ids: tuple[int, ...] = IDS) -> torch.Tensor:
    """H×W labels -> O×H×W one-hot."""
    return torch.stack([torch.from_numpy(labels == i) for i in ids]).float()


def aggregated(labels: np.ndarray, sharp: float = 0.95) -> torch.Tensor:
    """H×W labels -> (O+1)×H×W probabilities whose argmax is ``labels``."""
    obj = one_hot(labels)
    bg = 1 - obj.sum(0, keepdim=True)
    agg = torch.cat([bg, obj]) * sharp + (1 - sharp) / (len(IDS) + 1)
    return agg / agg.sum(0, keepdim=True)


def two_squares(shift: int = 0) -> np.ndarray:
    labels = np.zeros((64, 96), np.uint8)
    labels[10 + shift : 30 + shift, 10:30] = 1
    labels[30:50, 50 + shift : 80 + shift] = 2
    return labels


def test_one_row_per_object_of_every_feature() -> None:
    key = torch.randn(16, 4, 6)
    features = QualityFeatures()
    features.given(0, key, one_hot(two_squares()), IDS)
    x = features.predicted(1, key, aggregated(two_squares(2)), IDS, recent_share=0.3)
    assert x.shape == (2, N_FEATURES) == (2, len(FEATURE_NAMES)) and x.dtype == torch.float32
    assert torch.isfinite(x).all()
    col = {name: i for i, name in enumerate(FEATURE_NAMES)}
    assert x[0, col["recent_share"]] == x[1, col["recent_share"]] == torch.tensor(0.3)
    assert 0.5 < float(x[0, col["iou_prev"]]) < 1.0  # moved by 2 rows of 20
    assert float(x[1, col["log_area_vs_ref"]]) == 0.0  # same area as its reference
    assert abs(float(x[0, col["log_since_ref"]]) - np.log(2)) < 1e-6


def test_a_vanished_object_is_flagged_and_nothing_breaks() -> None:
    key = torch.randn(16, 4, 6)
    features = QualityFeatures()
    features.given(0, key, one_hot(two_squares()), IDS)
    gone = two_squares()
    gone[gone == 2] = 0
    x = features.predicted(1, key, aggregated(gone), IDS, recent_share=0.0)
    col = {name: i for i, name in enumerate(FEATURE_NAMES)}
    assert torch.isfinite(x).all()
    assert float(x[1, col["empty"]]) == 1.0 and float(x[0, col["empty"]]) == 0.0
    assert float(x[1, col["iou_prev"]]) == 0.0 and float(x[1, col["log_area_vs_ref"]]) < -5


def test_an_object_without_reference_gets_neutral_comparisons() -> None:
    x = QualityFeatures().predicted(3, torch.randn(8, 4, 6), aggregated(two_squares()), IDS, 0.5)
    col = {name: i for i, name in enumerate(FEATURE_NAMES)}
    assert x.shape == (2, N_FEATURES) and torch.isfinite(x).all()
    assert float(x[0, col["proto_fg_vs_ref"]]) == 0.0 and float(x[0, col["key_agreement"]]) == 0.0


def test_spearman_ranks_with_ties() -> None:
    a = np.array([1.0, 2.0, 3.0, 4.0])
    assert spearman(a, a * 10) == 1.0 and spearman(a, -a) == -1.0
    # ties share their mean rank: ranks (0.5, 0.5, 2, 3) against (0, 1, 2, 3)
    assert abs(spearman(np.array([1.0, 1.0, 2.0, 3.0]), a) - 0.9486833) < 1e-6
    assert np.isnan(spearman(np.ones(4), a))
