"""The affinity readout: exact on self-matches and shifts, bookkeeping adds up."""

import pytest
import torch
import torch.nn.functional as F

from vos_core.models.readout import fused_readout, global_topk


def _keys(c: int = 16, h: int = 13, w: int = 21, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(c, h, w, generator=g), dim=0)


def test_local_window_self_match_returns_the_values() -> None:
    q = _keys()
    for o, cv in ((2, 1), (2, 20)):  # gather path and dense path
        v = torch.rand(o, cv, 13, 21)
        r = fused_readout(q, [q], [v], None, None, 0, k=1, temperature=0.01, radius=2)
        assert torch.allclose(r.value, v)
        assert r.recent_share == pytest.approx(1.0)


def test_local_window_follows_a_shift() -> None:
    q = _keys()
    v = torch.rand(1, 1, 13, 21)
    shifted_q = torch.roll(q, (1, 2), (1, 2))
    shifted_v = torch.roll(v, (1, 2), (2, 3))
    r = fused_readout(q, [shifted_q], [shifted_v], None, None, 0, k=1, temperature=0.01, radius=3)
    assert torch.allclose(r.value[..., 2:-2, 3:-3], v[..., 2:-2, 3:-3])


def test_global_matches_and_pixel_weights() -> None:
    q = _keys()
    v = torch.rand(3, 1, 13 * 21)
    m = global_topk(q.flatten(1), q.flatten(1), v, k=1)
    r = fused_readout(q, [], [], m, (13, 21), 13 * 21, k=1, temperature=0.01, radius=2)
    assert torch.allclose(r.value.flatten(2), v)
    assert r.pixel_weight is not None
    # every query pixel gives weight 1 to exactly itself
    assert torch.allclose(r.pixel_weight, torch.ones(13 * 21))


def test_mixed_sources_split_weight() -> None:
    q = _keys()
    v = torch.rand(1, 1, 13, 21)
    m = global_topk(q.flatten(1), q.flatten(1), v.flatten(2), k=1)
    r = fused_readout(q, [q], [v], m, (13, 21), 13 * 21, k=2, temperature=0.05, radius=1)
    assert 0.45 < r.recent_share < 0.55  # identical candidates from both sources
    assert torch.allclose(r.value, v, atol=1e-5)


def test_mismatched_key_channels_are_refused() -> None:
    with pytest.raises(ValueError, match="channels"):
        global_topk(torch.zeros(8, 4), torch.zeros(9, 4), torch.zeros(1, 1, 4), k=1)
