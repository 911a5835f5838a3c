"""Trained architectures and their shared parts, on tiny synthetic videos (untrained heads)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.core.synthetic import SyntheticVideo
from vos_core.config import MemoryConfig, SessionConfig
from vos_core.inference.objects import soft_aggregate
from vos_core.inference.session import InferenceSession
from vos_core.models.parts.attention import Attention, AttentionBlock
from vos_core.models.parts.blocks import ResBlock
from vos_core.models.parts.decoder import RefinementDecoder
from vos_core.models.parts.deform import ModulatedDeformConv2d, flow_warp
from vos_core.models.parts.encoders import KeyProjection, MaskValueEncoder
from vos_core.models.parts.losses import aggregate_logits, bootstrapped_ce, dice_loss
from vos_core.models.parts.model import LearnedVosModel
from vos_core.models.registry import arch_names, build, get_spec, trainable_names

ARCHS = tuple(trainable_names())


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(autouse=True)
def no_shipped_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Build untrained heads whatever ``weights/`` holds."""
    monkeypatch.setenv("VOS_WEIGHTS_DIR", str(tmp_path / "weights"))


def _config(arch: str) -> SessionConfig:
    memory = MemoryConfig(every=1, working_size=2, long_term_size=1, recent_frames=2, recent_gap=1)
    return SessionConfig(arch=arch, accelerate=False, threads=1, memory=memory)


def test_architectures_are_registered_with_weights_files() -> None:
    names = arch_names()
    assert set(ARCHS) == {"stcn", "gcm", "strn", "sitvos", "stma"} and "propagation" in names
    for arch in ARCHS:
        assert arch in names
        spec = get_spec(arch)
        assert spec.weights == f"{arch}.pt"
        assert spec.description
        assert not spec.trained
    assert not get_spec("propagation").trained


def test_default_arch_is_the_best_shipped_trained_one(tmp_path: Path) -> None:
    from vos_core.models.registry import default_arch
    from vos_core.train.trainer import build_heads
    from vos_core.weights import ModelCard, card_path, save_weights

    assert default_arch() == "propagation"  # nothing shipped: the training-free model
    weights = tmp_path / "weights"
    for arch, jf in (("stcn", 0.70), ("strn", 0.75), ("gcm", 0.60)):
        save_weights(build_heads(arch), weights / f"{arch}.pt", ModelCard(arch=arch, dev_jf={"mean": jf}))
    assert default_arch() == "strn"
    card_path(weights / "strn.pt").write_text("{broken")  # an unreadable card is skipped here
    assert default_arch() == "stcn"


@pytest.mark.parametrize("arch", ARCHS)
def test_architecture_runs_through_the_session_with_bounded_memory(arch: str) -> None:
    torch.manual_seed(0)
    model = build(arch, _config(arch), untrained=True)
    assert isinstance(model, LearnedVosModel) and model.name == arch and not model.trained
    assert not model.exclusive
    # the frozen encoder is never part of the heads' parameters
    frozen = ("encoder.", "backbone.", "net.", "_blocks.", "_conv_stem")
    assert not any(k.startswith(frozen) for k in model.state_dict())
    video = SyntheticVideo(n=6, hw=(64, 96), objects=2)
    session = InferenceSession(video, _config(arch), model=model)
    only_first = video.labels(0).copy()
    only_first[only_first == 2] = 0
    session.annotate(0, only_first)
    session.annotate(1, video.labels(1))  # object 2 appears later
    sizes = []
    for r in session.propagate(0, 5):
        assert r.labels.shape == video.hw and r.labels.dtype == np.uint8
        assert r.probs.shape == (len(r.object_ids), 240, 360)  # processing size (upscaled)
        assert np.isfinite(r.probs).all() and r.probs.min() >= 0 and r.probs.max() <= 1
        stats = session.bank.stats()
        assert len(stats.entries) <= 2 + 2 + 1  # two given masks, working 2, long-term 1
        sizes.append(stats.total_bytes)
    assert session.object_ids == (1, 2)
    assert sizes[-1] == sizes[-2]  # steady state (working and long-term full): no growth
    # forgetting an object keeps the session usable
    session.remove_object(2)
    r = session.step(video.read(4), 4)
    assert r.probs.shape[0] == 1


def test_deformable_conv_without_offsets_is_a_plain_conv() -> None:
    torch.manual_seed(0)
    dcn = ModulatedDeformConv2d(4, 5, 3)
    x = torch.randn(2, 4, 6, 7)
    offset = torch.zeros(2, 18, 6, 7)
    mask = torch.ones(2, 9, 6, 7)
    expected = F.conv2d(x, dcn.weight, dcn.bias, padding=1)
    assert torch.allclose(dcn(x, offset, mask), expected, atol=1e-5)
    # a one-pixel shift of every tap equals the conv of the shifted input (away from the border)
    offset[:, 1::2] = 1.0  # dx = +1
    shifted = dcn(x, offset, mask)
    assert torch.allclose(shifted[..., 1:-2], expected[..., 2:-1], atol=1e-5)
    with pytest.raises(ValueError, match="offset"):
        dcn(x, torch.zeros(2, 9, 6, 7), mask)


def test_flow_warp_moves_features() -> None:
    x = torch.arange(20.0).view(1, 1, 4, 5)
    assert torch.allclose(flow_warp(x, torch.zeros(1, 2, 4, 5)), x)
    flow = torch.zeros(1, 2, 4, 5)
    flow[:, 0] = 1.0  # sample one pixel to the right
    assert torch.allclose(flow_warp(x, flow)[..., :-1], x[..., 1:])


def test_parts_check_their_channels() -> None:
    with pytest.raises(ValueError, match="ResBlock"):
        ResBlock(8, 8)(torch.zeros(1, 7, 4, 4))
    with pytest.raises(ValueError, match="KeyProjection"):
        KeyProjection(112, 64)(torch.zeros(1, 40, 4, 4))
    enc = MaskValueEncoder((24, 40, 112), 32)
    skips = (torch.zeros(1, 24, 16, 24), torch.zeros(1, 41, 8, 12), torch.zeros(1, 112, 4, 6))
    with pytest.raises(ValueError, match="s8"):
        enc(skips, torch.zeros(2, 64, 96))
    with pytest.raises(ValueError, match="RefinementDecoder"):
        RefinementDecoder(64, (24, 40))(torch.zeros(1, 63, 4, 6), skips[1], skips[0])
    with pytest.raises(ValueError, match="Attention key"):
        Attention(16, 16, 16)(torch.zeros(1, 3, 16), torch.zeros(1, 4, 8), torch.zeros(1, 4, 16))


def test_parts_shapes() -> None:
    enc = MaskValueEncoder((24, 40, 112), 32)
    skips = (torch.zeros(1, 24, 16, 24), torch.zeros(1, 40, 8, 12), torch.zeros(1, 112, 4, 6))
    v = enc(skips, torch.rand(3, 64, 96))
    assert v.shape == (3, 32, 4, 6)
    dec = RefinementDecoder(32, (24, 40))
    logits = dec(v, skips[1], skips[0])
    assert logits.shape == (3, 1, 16, 24)
    assert RefinementDecoder.to_image(logits, (64, 96)).shape == (3, 64, 96)
    block = AttentionBlock(16, kv_dim=8, heads=2, norm="pre", ffn=True)
    out, weights = block(torch.zeros(2, 5, 16), kv=torch.rand(2, 7, 8), with_weights=True)
    assert out.shape == (2, 5, 16) and weights is not None and weights.shape == (2, 7)
    assert torch.allclose(weights.sum(dim=1), torch.full((2,), 5.0))


def test_losses() -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 8, 9)
    agg = torch.softmax(aggregate_logits(logits), dim=0)
    assert torch.allclose(agg, soft_aggregate(torch.sigmoid(logits), eps=1e-7), atol=1e-4)
    target = torch.randint(0, 3, (1, 8, 9))
    class_logits = aggregate_logits(logits)[None]
    full = bootstrapped_ce(class_logits, target, 1.0)
    hard = bootstrapped_ce(class_logits, target, 0.2)
    assert hard >= full
    onehot = F.one_hot(target, 3).permute(0, 3, 1, 2)[:, 1:].float()
    assert float(dice_loss(onehot, onehot)) == pytest.approx(0.0, abs=1e-6)
    assert float(dice_loss(1 - onehot, onehot)) > 0.9


def test_parts_check_their_widths_when_built() -> None:
    with pytest.raises(ValueError, match="RefinementDecoder skips"):
        RefinementDecoder(64, (24,))
    with pytest.raises(ValueError, match="MaskValueEncoder features"):
        MaskValueEncoder((24, 40), 32)
    with pytest.raises(ValueError, match="divisible"):
        Attention(16, 16, 16, d_k=10, heads=4)


def test_gcm_memory_node_is_a_fixed_size_context_matrix() -> None:
    model = build("gcm", _config("gcm"), untrained=True)
    sizes = set()
    with torch.inference_mode():
        for hw in ((64, 96), (128, 160)):
            frame = model.encode_frame(torch.rand(1, 3, *hw) * 255)
            mem = model.encode_memory(frame, torch.rand(2, *hw))
            sizes.add((tuple(mem.key.shape), tuple(mem.value.shape)))
            assert torch.equal(mem.key, torch.eye(64))
    assert sizes == {((64, 64), (2, 128, 64))}  # independent of the frame size


def test_sitvos_uses_first_previous_and_spread_memory_frames() -> None:
    from vos_core.memory.bank import MemoryView
    from vos_core.memory.entries import MemoryFeatures
    from vos_core.models.archs.sitvos import select_memory

    n = 2
    view = MemoryView(
        key=torch.arange(10.0).repeat_interleave(n)[None].expand(4, -1),
        value=torch.zeros(1, 4, 10 * n),
        segments=tuple((i, i * n, (i + 1) * n) for i in range(10)),
    )
    previous = MemoryFeatures(key=torch.full((4, n), 99.0), value=torch.zeros(1, 4, n), hw=None)
    chosen = select_memory(view, [previous], 7)
    assert len(chosen) == 7
    frames = [int(s.key[0, 0]) for s in chosen]
    assert frames[0] == 0 and frames[-1] == 99 and frames[-2] == 9
    assert frames[:-1] == sorted(frames[:-1])
    assert len(select_memory(view, [], 20)) == 10
