"""The given frames' encoded views (vos_core.adapt.samples)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.core.synthetic import SyntheticVideo
from vos_core.adapt.samples import crop_view, encode_given
from vos_core.config import SessionConfig
from vos_core.models.base import FrameFeatures
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


def test_a_view_is_cut_about_its_object_at_every_stride() -> None:
    h, w = 64, 160
    key = torch.arange(8 * 4 * 10, dtype=torch.float16).reshape(8, 4, 10)
    skips = tuple(torch.rand(1, 3, h // s, w // s).half() for s in (4, 8, 16))
    frame = FrameFeatures(key=key, fine_key=key, skips=skips, image_hw=(h, w))
    labels = torch.zeros(h, w, dtype=torch.uint8)
    labels[20:40, 120:140] = 1  # centre (30, 130): the 64-wide window starts at 96, the last it can
    cut, cut_labels = crop_view(frame, labels, 64)
    assert cut.image_hw == (64, 64) and cut_labels.shape == (64, 64)
    assert torch.equal(cut_labels, labels[:, 96:160]) and int(cut_labels.sum()) == int(labels.sum())
    assert torch.equal(cut.key, key[:, :, 6:10]) and cut.fine_key is cut.key
    for s, (a, b) in zip((4, 8, 16), zip(cut.skips, skips, strict=True), strict=True):
        assert torch.equal(a, b[..., :, 96 // s : 160 // s])
    left = torch.zeros(h, w, dtype=torch.uint8)
    left[10:20, 50:70] = 2  # centre column 59.5: the window starts at 32 (centred, aligned to 16)
    cut, cut_labels = crop_view(frame, left, 64)
    assert torch.equal(cut_labels, left[:, 32:96]) and torch.equal(cut.key, key[:, :, 2:6])
    same, same_labels = crop_view(frame, labels, 160)
    assert same is frame and same_labels is labels  # no larger than the crop: as it is
