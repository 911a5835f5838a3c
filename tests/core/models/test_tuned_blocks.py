"""Fine-tuning the last stride-16 blocks of the encoder (``tuned_blocks``): what trains, what stays
frozen, and that inference (ONNX Runtime included) uses the fine-tuned weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from vos_core.errors import WeightsError
from vos_core.models.archs.stcn import StcnConfig, StcnModel
from vos_core.models.encoders.runner import FrozenEncoder, onnxruntime_available
from vos_core.models.registry import pretrained_lite0
from vos_core.train.clip import ClipRunner
from vos_core.weights import ModelCard, load_weights, save_weights

pytestmark = pytest.mark.usefixtures("one_thread")


def _tuned(n: int = 2, accelerate: bool = False) -> StcnModel:
    return StcnModel(FrozenEncoder(pretrained_lite0(), accelerate=accelerate), StcnConfig(tuned_blocks=n))


def _frozen() -> StcnModel:
    return StcnModel(FrozenEncoder(pretrained_lite0(), accelerate=False), StcnConfig(tuned_blocks=0))


def test_only_the_tuned_blocks_and_heads_get_gradients() -> None:
    torch.manual_seed(0)
    model = _tuned(2).train()
    net = model.backbone.encoder.net
    assert net is not pretrained_lite0(), "the shared ImageNet encoder must not be modified"
    assert all(a is b for a, b in zip(model.tuned, net._blocks[net.end_s16 - 2 : net.end_s16], strict=True))
    assert not any(m.training for m in model.tuned.modules()), "batch norm of tuned blocks stays frozen"
    frames = torch.rand(1, 3, 3, 64, 96) * 255
    labels = torch.zeros(1, 3, 64, 96, dtype=torch.long)
    labels[:, :, 16:48, 24:64] = 1
    loss, _ = ClipRunner(model)(frames, labels, torch.tensor([1]))
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.tuned.parameters())
    frozen = [p for b in net._blocks[: net.end_s16 - 2] for p in b.parameters()]
    assert all(p.grad is None and not p.requires_grad for p in frozen)
    assert all(p.grad is None for p in pretrained_lite0().parameters())
    # the tuned blocks are saved with the heads; the frozen encoder is not
    keys = model.state_dict().keys()
    assert any(k.startswith("tuned.0.") for k in keys) and not any(k.startswith("backbone") for k in keys)


@pytest.mark.skipif(not onnxruntime_available(), reason="onnxruntime not installed")
def test_onnx_encoder_follows_the_tuned_weights() -> None:
    model = _tuned(1, accelerate=True).eval()
    x = torch.rand(1, 3, 64, 96) * 255
    with torch.no_grad():
        before = model.backbone(x).s16
        model.tuned[0]._project_conv.weight.mul_(2.0)  # an optimiser step changes the weights in place
        model.train().eval()
        after = model.backbone(x).s16
        torch_after = model.backbone.encoder.net(x).s16
    assert (after - before).abs().max() > 1e-2
    assert torch.allclose(after, torch_after, atol=1e-3)


def test_tuned_weights_round_trip_and_mismatch_is_an_error(tmp_path: Path) -> None:
    torch.manual_seed(1)
    model = _tuned(2)
    with torch.no_grad():
        model.tuned[1]._bn2.bias.add_(0.5)
    path = tmp_path / "stcn.pt"
    save_weights(model, path, ModelCard(arch="stcn", encoder_frozen=False))
    other = _tuned(2)
    load_weights(other, path)
    assert torch.equal(other.tuned[1]._bn2.bias, model.tuned[1]._bn2.bias)
    x = torch.rand(1, 3, 64, 96) * 255
    with torch.no_grad():
        assert torch.allclose(other.eval().backbone(x).s16, model.eval().backbone(x).s16)
    with pytest.raises(WeightsError, match="missing"):
        load_weights(_tuned(3), path)  # a different number of tuned blocks
    with pytest.raises(WeightsError, match="unexpected"):
        load_weights(_frozen(), path)


def test_tuned_blocks_must_be_stride16_blocks() -> None:
    with pytest.raises(ValueError, match="tuned_blocks"):
        _tuned(7)


def test_dev_scoring_runs_the_tuned_encoder_and_leaves_it_trainable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """evaluate_dev swaps in an inference encoder: for a tuned model it must be the model's own
    network (not the shared ImageNet one), and training can go on afterwards."""
    import vos_core.train.dev as dev

    model = _tuned(1).eval()
    training_encoder = model.backbone.encoder
    used: list[object] = []

    class Stop(Exception):
        pass

    class FakeDataset:
        def __init__(self, _root: Path) -> None:
            pass

        def masks(self, _seq: str) -> object:  # called once the inference encoder is in place
            used.append(model.backbone.encoder)
            raise Stop

    monkeypatch.setattr(dev, "DavisDataset", FakeDataset)
    with pytest.raises(Stop):
        dev.evaluate_dev(model, tmp_path)
    assert model.backbone.encoder is training_encoder  # restored
    assert used and used[0] is not training_encoder
    assert used[0].net is training_encoder.net is not pretrained_lite0()  # type: ignore[attr-defined]
    assert all(p.requires_grad for p in model.tuned.parameters())
