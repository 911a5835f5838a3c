"""The given frames' encoded views (vos_core.adapt.samples)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.core.synthetic import SyntheticVideo
from vos_core.adapt.samples import encode_given
from vos_core.config import SessionConfig
from vos_core.models.encoders.runner import onnxruntime_available
from vos_core.models.registry import build

VIDEO = SyntheticVideo(n=2, hw=(96, 128), objects=1, seed=7)


@pytest.fixture(autouse=True)
def no_shipped_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOS_WEIGHTS_DIR", str(tmp_path / "weights"))


@pytest.mark.parametrize("accelerate", [False, pytest.param(True, marks=pytest.mark.skipif(
    not onnxruntime_available(), reason="onnxruntime not installed"))])
def test_views_encoded_side_by_side_are_the_ones_encoded_in_turn(accelerate: bool) -> None:
    torch.manual_seed(0)
    model = build("stcn", SessionConfig(arch="stcn", accelerate=accelerate, threads=1), untrained=True)
    rgb, labels = VIDEO.read(0), VIDEO.labels(0)
    one = encode_given(model, 0, rgb, labels, 4, 0, torch.device("cpu"))
    two = encode_given(model, 0, rgb, labels, 4, 0, torch.device("cpu"), workers=3)
    assert len(one.views) == len(two.views) == 5 and torch.equal(one.labels, two.labels)
    for a, b in zip(one.views, two.views, strict=True):
        assert a.key.dtype == torch.float16 and not a.key.is_inference()
        assert torch.equal(a.key, b.key)
        assert all(torch.equal(x, y) for x, y in zip(a.skips, b.skips, strict=True))
