"""The NoC protocol on synthetic images: an oracle, GrabCut, and the model path end to end."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch

from tests.core.interactive.helpers import disk_image
from vos_core.interactive.clicks.model import ClickHead
from vos_core.interactive.clicks.predictor import ClickSegmenter, working_size
from vos_core.interactive.clicks.protocol import GrabCutMethod, ModelMethod, Trace, iou, run_protocol
from vos_core.interactive.clicks.simulate import Click
from vos_core.models.encoders.efficientnet_lite import EfficientNetLite
from vos_core.models.encoders.runner import FrozenEncoder


class _Growing:
    """Adds a 6-px disk per positive click and removes one per negative click."""

    name = "growing"

    def start(self, image: np.ndarray, gt: np.ndarray) -> None:
        self.hw = gt.shape

    def click(self, clicks: Sequence[Click]) -> np.ndarray:
        yy, xx = np.mgrid[: self.hw[0], : self.hw[1]]
        out = np.zeros(self.hw, bool)
        for c in clicks:
            out[(yy - c.y) ** 2 + (xx - c.x) ** 2 <= 36] = c.positive
        return out


def test_noc_counts_clicks_until_the_threshold() -> None:
    trace = Trace(ious=[0.5, 0.86, 0.91])
    assert trace.noc(0.85, 20) == 2 and trace.noc(0.90, 20) == 3 and trace.noc(0.95, 20) == 20
    assert trace.iou_at(1) == 0.5 and trace.iou_at(5) == 0.91
    assert iou(np.zeros((2, 2), bool), np.zeros((2, 2), bool)) == 1.0


def test_protocol_adds_clicks_on_the_errors() -> None:
    img, gt = disk_image(radius=10)
    trace = run_protocol(_Growing(), img, gt, max_clicks=20)
    assert trace.ious[0] < 0.5  # one small disk covers a third of the object
    assert len(trace.ious) >= 5 and trace.ious[-1] > trace.ious[0]
    assert len(trace.click_seconds) == len(trace.ious)


def test_the_first_clicks_leak_onto_other_instances_is_recorded() -> None:
    img, gt = disk_image(radius=4)  # the first click's 6-px disk spills over the object
    others = np.zeros_like(gt)
    others[45:52, :] = True  # a band through the click: another instance beside the object
    others &= ~gt
    trace = run_protocol(_Growing(), img, gt, max_clicks=3, others=others)
    first = _Growing()
    first.start(img, gt)
    pred = first.click([Click(48.0, 60.0, True)])
    assert trace.leak is not None and trace.leak_iou is not None
    assert trace.leak == (pred & others).sum() / pred.sum() and 0.0 < trace.leak < 1.0
    assert trace.leak_iou == iou(pred, others)
    assert run_protocol(_Growing(), img, gt, max_clicks=3, others=np.zeros_like(gt)).leak is None
    assert run_protocol(_Growing(), img, gt, max_clicks=3).leak is None


def test_grabcut_segments_a_contrasting_disk_from_its_box() -> None:
    img, gt = disk_image()
    trace = run_protocol(GrabCutMethod(), img, gt, max_clicks=5)
    assert trace.ious[0] > 0.85


def test_model_method_encodes_once_and_predicts_at_the_frame_size(one_thread: None) -> None:
    torch.manual_seed(0)
    calls: list[tuple[int, ...]] = []
    encoder = FrozenEncoder(EfficientNetLite(), accelerate=False, threads=1)

    class Counting(FrozenEncoder):
        def __call__(self, rgb: torch.Tensor):  # noqa: ANN204
            calls.append(tuple(rgb.shape))
            return encoder(rgb)

    seg = ClickSegmenter(
        ClickHead(), Counting(encoder.net, accelerate=False), work_height=64, zoom=None, local=None
    )
    img, gt = disk_image(hw=(90, 120))
    trace = run_protocol(ModelMethod(seg), img, gt, max_clicks=3)
    assert len(trace.ious) == 3 and all(0.0 <= v <= 1.0 for v in trace.ious)
    assert calls == [(1, 3, *working_size((90, 120), 64))]  # one encoder run for three clicks
    enc = seg.features("frame-0", img)
    assert seg.features("frame-0", img) is enc and len(calls) == 2
    prob = seg.predict(enc, [Click(45, 60, True)], prev_mask=gt, box=(20, 30, 70, 90))
    assert prob.shape == gt.shape and prob.dtype == np.float32


def test_edge_refine_snaps_a_blurred_mask_to_the_image_edge() -> None:
    from vos_core.interactive.clicks.predictor import edge_refine

    img, gt = disk_image()
    coarse = cv2.resize(
        cv2.resize(gt.astype(np.float32), (16, 12), interpolation=cv2.INTER_AREA),
        (gt.shape[1], gt.shape[0]),
        interpolation=cv2.INTER_LINEAR,
    )
    refined = edge_refine(coarse, img, radius=4)
    assert refined.shape == gt.shape and refined.dtype == np.float32
    assert iou(refined > 0.5, gt) > iou(coarse > 0.5, gt)


def test_the_edge_filter_radius_shrinks_with_a_small_mask() -> None:
    seg = ClickSegmenter(ClickHead(), FrozenEncoder(EfficientNetLite()), refine_radius=5, refine_rel=0.0)
    img = np.full((120, 160, 3), 40, np.uint8)
    thin = np.zeros((120, 160), np.float32)
    thin[20:100, 70:90] = 0.9  # a pedestrian 20 px wide
    thin[60:100, 78:81] = 0.9
    thin[60:100, 81:90] = 0.0  # ... whose leg is 3 px wide
    img[thin > 0.5] = 200
    wide = np.zeros_like(thin)
    wide[10:110, 20:140] = 0.9
    assert seg.refine_radius_for(thin) == 5  # refine_rel 0: the fixed radius
    seg.refine_rel = 0.1
    assert seg.refine_radius_for(thin) == 2 and seg.refine_radius_for(wide) == 5
    assert seg.refine_radius_for(np.zeros_like(thin)) == 5
    from vos_core.interactive.clicks.predictor import edge_refine

    rng = np.random.default_rng(0)
    noisy = np.clip(img.astype(np.int16) + rng.integers(-40, 41, img.shape), 0, 255).astype(np.uint8)
    assert np.array_equal(seg.to_mask(thin, noisy), edge_refine(thin, noisy, 2) > 0.5)
