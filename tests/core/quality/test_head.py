"""The quality head's file: strict loading, clear errors, the documented fallback, and that the
shipped head ranks a corrupted mask below the right one."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.core.synthetic import SyntheticVideo
from vos_core.config import SessionConfig
from vos_core.errors import WeightsError
from vos_core.inference.objects import aggregate, labels_to_probs
from vos_core.inference.session import InferenceSession
from vos_core.models.registry import get_spec
from vos_core.quality.features import FEATURE_NAMES
from vos_core.quality.head import (
    CONFIDENCE_COLUMN,
    QualityCard,
    QualityEstimator,
    QualityHead,
    load_head,
    save_head,
    shipped_head,
)
from vos_core.weights import weights_dir


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    path = tmp_path / "quality.pt"
    save_head(QualityHead(hidden=8), path, QualityCard(data="test", hidden=8))
    return path


def test_a_saved_head_loads_back_with_the_same_outputs(saved: Path) -> None:
    head = load_head(saved)
    again = load_head(saved)
    x = torch.randn(5, len(FEATURE_NAMES))
    out = head(x)
    assert out.shape == (5,) and ((out > 0) & (out < 1)).all()
    torch.testing.assert_close(out, again(x))
    card = json.loads(saved.with_suffix(".json").read_text())
    assert card["features"] == list(FEATURE_NAMES) and len(card["sha256"]) == 64


def test_a_corrupt_file_is_a_weights_error(saved: Path) -> None:
    saved.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="hash"):
        load_head(saved)


def test_a_file_with_other_keys_is_a_weights_error(saved: Path) -> None:
    state = QualityHead(hidden=8).state_dict()
    state["extra"] = torch.zeros(1)
    card = QualityCard(hidden=8)
    save_head(QualityHead(hidden=8), saved, card)
    torch.save(state, saved)  # same card, keys that do not match: refresh the hash only
    card.sha256 = hashlib.sha256(saved.read_bytes()).hexdigest()
    saved.with_suffix(".json").write_text(card.to_json())
    with pytest.raises(WeightsError, match="cannot be loaded"):
        load_head(saved)


def test_a_head_for_other_features_or_without_card_is_a_weights_error(saved: Path) -> None:
    card = json.loads(saved.with_suffix(".json").read_text())
    card["features"] = card["features"][:-1]
    saved.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(WeightsError, match="other features"):
        load_head(saved)
    saved.with_suffix(".json").unlink()
    with pytest.raises(WeightsError, match="card"):
        load_head(saved)


def test_without_a_head_the_estimate_is_the_old_confidence(tmp_path: Path) -> None:
    assert shipped_head(tmp_path / "quality.pt") is None
    estimator = QualityEstimator(None)
    labels = np.zeros((32, 48), np.uint8)
    labels[8:20, 8:30] = 1
    key = torch.randn(8, 2, 3)
    assert estimator.given(0, key, labels_to_probs(labels, (1,)), (1,)).objects == (1.0,)
    agg = aggregate(labels_to_probs(labels, (1,)) * 0.8 + 0.1, exclusive=False)
    quality = estimator.predicted(1, key, agg, (1,), 0.5)
    assert estimator.last_features is not None
    expected = float(estimator.last_features[0, CONFIDENCE_COLUMN])
    assert quality.frame == quality.objects[0] == pytest.approx(expected)


def test_the_session_reports_the_shipped_head_or_the_fallback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    video = SyntheticVideo(4, (64, 96))
    config = SessionConfig(arch="propagation", accelerate=False, threads=1)
    monkeypatch.setenv("VOS_WEIGHTS_DIR", str(tmp_path))  # no quality.pt there
    session = InferenceSession(video, config)
    session.annotate(0, video.labels(0))
    results = list(session.propagate(0, 3))
    assert all(r.quality == pytest.approx(r.confidence, abs=1e-6) for r in results)
    monkeypatch.delenv("VOS_WEIGHTS_DIR")
    if not (weights_dir() / "quality.pt").is_file():
        pytest.skip("no shipped quality head")
    session = InferenceSession(video, config)
    session.annotate(0, video.labels(0))
    results = list(session.propagate(0, 3))
    assert all(r.object_quality and r.quality == min(r.object_quality) for r in results)
    assert any(abs(r.quality - r.confidence) > 1e-3 for r in results)


def test_the_shipped_head_ranks_a_corrupted_mask_below_the_right_one(one_thread: None) -> None:
    if not (weights_dir() / "quality.pt").is_file():
        pytest.skip("no shipped quality head")
    video = SyntheticVideo(3, (192, 256))
    model = get_spec("propagation").build(SessionConfig(accelerate=False))
    rgb = [torch.from_numpy(video.read(i)).permute(2, 0, 1)[None].float() for i in (0, 1)]
    keys = [model.encode_frame(t).key for t in rgb]
    right = video.labels(1)
    wrong = np.roll(right, 20, axis=1)  # the square half off the object
    wrong[150:180, 10:60] = 1  # and a stray blob
    scores = []
    for labels in (right, wrong):
        estimator = QualityEstimator(shipped_head())
        estimator.given(0, keys[0], labels_to_probs(video.labels(0), (1,)), (1,))
        agg = aggregate(labels_to_probs(labels, (1,)) * 0.9 + 0.05, exclusive=False)
        scores.append(estimator.predicted(1, keys[1], agg, (1,), 0.5).frame)
    assert scores[0] > scores[1] + 0.05, scores
