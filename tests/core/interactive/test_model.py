"""The click head: input maps, output shapes and shape checks."""

from __future__ import annotations

import pytest
import torch

from vos_core.interactive.clicks.model import ClickHead, click_maps, similarity_maps
from vos_core.models.encoders.efficientnet_lite import EncoderFeatures


def _feats(b: int, h: int, w: int) -> EncoderFeatures:
    def up(n: int) -> tuple[int, int]:
        return -(-h // n), -(-w // n)

    return EncoderFeatures(
        torch.randn(b, 24, *up(4)), torch.randn(b, 40, *up(8)), torch.randn(b, 112, *up(16))
    )


def test_click_maps_mark_positive_and_negative_clicks() -> None:
    points = torch.tensor([[[10.0, 20.0, 1.0], [50.0, 60.0, -1.0], [0.0, 0.0, 0.0]]])
    maps = click_maps(points, (16, 20), 4, (64, 80))
    assert maps.shape == (1, 4, 16, 20)
    assert maps[0, 0, 2, 5] == 1 and maps[0, 2, 2, 5] == 0  # positive disk at (10, 20)
    assert maps[0, 2, 12, 15] == 1 and maps[0, 0, 12, 15] == 0  # negative disk at (50, 60)
    assert maps[0, 1].max() <= 1 and maps[0, 1, 2, 5] > maps[0, 1, 12, 15]
    assert click_maps(points[:, :0], (16, 20), 4, (64, 80)).abs().sum() == 0


def test_similarity_maps_peak_at_the_clicked_feature() -> None:
    keys = torch.nn.functional.normalize(torch.randn(1, 8, 6, 7), dim=1)
    points = torch.tensor([[[2 * 8 + 3.5, 3 * 8 + 3.5, 1.0]]])  # centre of cell (2, 3) at stride 8
    prior = torch.zeros(1, 1, 6, 7)
    sims = similarity_maps(keys, points, 8, prior)
    assert sims.shape == (1, 4, 6, 7)
    assert torch.isclose(sims[0, 0, 2, 3], torch.tensor(1.0), atol=1e-4)
    assert sims[0, 1].abs().sum() == 0 and sims[0, 2:].abs().sum() == 0  # no negatives, empty prior
    prior[0, 0, :3] = 1.0
    assert sims.new_tensor(0).abs() < similarity_maps(keys, points, 8, prior)[0, 2:].abs().sum()


@pytest.mark.parametrize("hw", [(64, 96), (72, 100)])
def test_head_outputs_logits_at_the_working_size(hw: tuple[int, int], one_thread: None) -> None:
    head = ClickHead().eval()
    h, w = hw
    points = torch.tensor([[[20.0, 30.0, 1.0]], [[40.0, 50.0, -1.0]]])
    with torch.no_grad():
        out = head(
            _feats(2, h, w), points, torch.zeros(2, 1, h, w), torch.zeros(2, 1, h, w), torch.zeros(2, 3, h, w)
        )
    assert out.fine.shape == out.coarse.shape == (2, 1, h, w) and torch.isfinite(out.fine).all()
    assert torch.equal(out.fine, out.coarse)  # the refiner's residual starts at zero


def test_head_refuses_features_of_another_size() -> None:
    head = ClickHead().eval()
    with pytest.raises(ValueError, match="do not fit"):
        head(
            _feats(1, 64, 64),
            torch.zeros(1, 1, 3),
            *[torch.zeros(1, 1, 96, 96)] * 2,
            torch.zeros(1, 3, 96, 96),
        )
    with pytest.raises(ValueError, match="points"):
        head(
            _feats(1, 64, 64), torch.zeros(1, 3), *[torch.zeros(1, 1, 64, 64)] * 2, torch.zeros(1, 3, 64, 64)
        )
    with pytest.raises(ValueError, match="image"):
        head(
            _feats(1, 64, 64),
            torch.zeros(1, 1, 3),
            *[torch.zeros(1, 1, 64, 64)] * 2,
            torch.zeros(1, 3, 32, 64),
        )


def test_refiner_changes_the_output_once_trained(one_thread: None) -> None:
    torch.manual_seed(0)
    head = ClickHead().eval()
    torch.nn.init.normal_(head.refine.out.weight)
    h, w = 64, 80
    rgb = torch.rand(1, 3, h, w) * 255
    with torch.no_grad():
        out = head(_feats(1, h, w), torch.tensor([[[30.0, 40.0, 1.0]]]), *[torch.zeros(1, 1, h, w)] * 2, rgb)
    assert not torch.equal(out.fine, out.coarse) and out.fine.shape == (1, 1, h, w)
