"""Optical-flow transport of a correction (vos_core.inference.transport): carrying, trust, gate."""

import numpy as np
import pytest
import torch

from tests.core.synthetic import SyntheticVideo, iou
from vos_core.inference.objects import labels_to_probs
from vos_core.inference.transport import Carried, FlowTransport, TransportConfig


def one_hot_agg(labels: np.ndarray, ids: tuple[int, ...]) -> torch.Tensor:
    """H×W labels -> (O+1)×H×W probabilities, background first."""
    objects = labels_to_probs(labels, ids)
    return torch.cat([1.0 - objects.sum(0, keepdim=True), objects])


def test_the_corrected_mask_follows_the_object() -> None:
    video = SyntheticVideo(n=8, objects=2)
    transport = FlowTransport(video.read(0), video.labels(0), (1, 2), TransportConfig(frames=3))
    for i in range(1, 4):
        carried = transport.advance(video.read(i))
        assert carried is not None and carried.distance == i
        assert carried.probs.shape == (3, *video.hw)
        labels = carried.probs.argmax(0).numpy()
        for k in (1, 2):
            # the object moved (i % 16, 2 i) pixels; the carried mask moved with it
            assert iou(labels == k, video.labels(i) == k) > 0.8
            assert iou(video.labels(0) == k, video.labels(i) == k) < iou(labels == k, video.labels(i) == k)
        inside = torch.from_numpy(video.labels(i) > 0)
        assert float(carried.trust[inside].mean()) > 0.5  # a smooth motion passes the check
        assert float(carried.trust.max()) <= 0.95 ** (i - 1) + 1e-6  # the share decays with distance
    assert transport.done and transport.advance(video.read(4)) is None


def test_a_flow_that_does_not_return_loses_its_trust() -> None:
    video = SyntheticVideo(n=3)
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 255, video.read(1).shape).astype(np.uint8)  # nothing matches frame 0
    transport = FlowTransport(video.read(0), video.labels(0), (1,), TransportConfig(smooth=1))
    carried = transport.advance(noise)
    assert carried is not None and float(carried.trust.mean()) < 0.5


def test_the_gate_drops_a_mask_the_model_does_not_see() -> None:
    labels = np.zeros((32, 32), np.uint8)
    labels[8:24, 8:24] = 1
    carried_probs = one_hot_agg(labels, (1,))
    carried = Carried(carried_probs, torch.ones(32, 32), 1, agree_low=0.2, agree_high=0.4)
    empty = one_hot_agg(np.zeros_like(labels), (1,))  # the object left: the model sees nothing
    assert carried.gate(empty) == 0.0 and torch.equal(carried.blend(empty), empty)
    weak = empty.clone()
    weak[1], weak[0] = 0.3 * carried_probs[1], 1.0 - 0.3 * carried_probs[1]  # half-way in the ramp
    assert carried.gate(weak) == pytest.approx(0.5)
    assert torch.allclose(carried.blend(weak), 0.5 * weak + 0.5 * carried_probs)
    sure = one_hot_agg(labels, (1,))
    assert carried.gate(sure) == 1.0 and torch.allclose(carried.blend(sure), carried_probs)
    with pytest.raises(ValueError):
        carried.blend(torch.zeros(2, 16, 16))


@pytest.mark.parametrize(
    "bad",
    [
        {"frames": -1}, {"weight": 1.5}, {"decay": 0.0}, {"tolerance": 0.0}, {"smooth": 0},
        {"scale": 2.0}, {"preset": "slow"}, {"agree_low": 0.5, "agree_high": 0.5},
    ],
)
def test_bad_settings_are_refused(bad: dict) -> None:
    with pytest.raises(ValueError):
        TransportConfig(**bad)


def test_frames_and_labels_must_match_in_size() -> None:
    with pytest.raises(ValueError, match="differ in size"):
        FlowTransport(np.zeros((10, 12, 3), np.uint8), np.zeros((10, 10), np.uint8), (1,), TransportConfig())


def test_a_smaller_flow_scale_still_carries_the_mask() -> None:
    video = SyntheticVideo(n=3)
    transport = FlowTransport(video.read(0), video.labels(0), (1,), TransportConfig(scale=0.5))
    carried = transport.advance(video.read(1))
    assert carried is not None and iou(carried.probs.argmax(0).numpy() == 1, video.labels(1) == 1) > 0.85


def test_the_quality_of_a_frame_rebuilt_from_the_correction_is_lifted() -> None:
    labels = np.zeros((32, 32), np.uint8)
    labels[8:24, 8:24] = 1
    probs = one_hot_agg(labels, (1,))
    sure = Carried(probs, torch.ones(32, 32), 1, 0.2, 0.4)
    assert sure.lift(probs, (0.3,)) == pytest.approx((1.0,))
    half = Carried(probs, torch.full((32, 32), 0.5), 2, 0.2, 0.4)
    assert half.lift(probs, (0.4,)) == pytest.approx((0.5 + 0.5 * 0.4,))
    empty = one_hot_agg(np.zeros_like(labels), (1,))  # gated off: the model's own estimate stays
    assert sure.lift(empty, (0.3,)) == pytest.approx((0.3,))
