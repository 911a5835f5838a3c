"""Zoom-in: the crop around the mask and the clicks, its input size, and the segmenter's use of it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from tests.core.interactive.helpers import disk_image
from vos_core.interactive.clicks.model import ClickHead
from vos_core.interactive.clicks.predictor import ClickSegmenter, working_size
from vos_core.interactive.clicks.simulate import Click
from vos_core.interactive.clicks.zoom import ASPECTS, ZoomIn, confine, crop_box, input_size, input_sizes
from vos_core.models.encoders.efficientnet_lite import EfficientNetLite
from vos_core.models.encoders.runner import FrozenEncoder


def _aspect(box: tuple[int, int, int, int]) -> float:
    y0, x0, y1, x1 = box
    return max(y1 - y0, x1 - x0) / min(y1 - y0, x1 - x0)


def test_crop_holds_the_mask_and_positive_clicks_expanded_inside_the_frame() -> None:
    prev = np.zeros((480, 854), np.float32)
    prev[200:260, 400:430] = 0.9  # a 60×30 object
    clicks = [Click(230, 415, True), Click(300, 700, False)]  # the negative click does not widen it
    zoom = ZoomIn(expansion=1.4, min_crop=0.1)
    y0, x0, y1, x1 = crop_box(prev, clicks, (480, 854), zoom)
    assert y0 <= 200 and y1 >= 260 and x0 <= 400 and x1 >= 430
    assert abs((y1 - y0) - 84) <= 1  # 60 × 1.4; the short side widened to a fixed aspect
    assert x1 < 700 and any(abs(_aspect((y0, x0, y1, x1)) - a) < 0.05 for a in ASPECTS)
    # a positive click far away joins the crop; the minimum size and the frame border hold
    y0, x0, y1, x1 = crop_box(prev, [Click(470, 850, True)], (480, 854), ZoomIn(min_crop=0.5))
    assert 0 <= y0 and y1 == 480 and x1 == 854 and x0 <= 400 and y1 - y0 >= 240
    # a crop larger than the frame is cut to it
    assert crop_box(np.ones((100, 200)), [], (100, 200), ZoomIn()) == (0, 0, 100, 200)


def test_no_crop_without_mask_or_positive_click() -> None:
    assert crop_box(None, [Click(10, 10, False)], (100, 100), ZoomIn()) is None
    assert crop_box(np.zeros((100, 100)), [], (100, 100), ZoomIn()) is None


def test_input_sizes_are_few_and_keep_the_long_side() -> None:
    sizes = {input_size((0, 0, h, w), 416) for h in range(40, 400, 7) for w in range(40, 400, 11)}
    assert sizes <= set(input_sizes(416)) and len(input_sizes(416)) == 2 * len(ASPECTS) - 1
    assert all(max(s) == 416 and min(s) % 16 == 0 for s in sizes)
    assert input_size((0, 0, 100, 200), 416) == (208, 416) and input_size((0, 0, 90, 90), 416) == (416, 416)


class _Counting(FrozenEncoder):
    def __init__(self, net: EfficientNetLite) -> None:
        super().__init__(net, accelerate=False, threads=1)
        self.calls: list[tuple[int, ...]] = []

    def __call__(self, rgb: torch.Tensor):  # noqa: ANN204
        self.calls.append(tuple(rgb.shape))
        return super().__call__(rgb)


def test_segmenter_zooms_after_the_first_click_and_keeps_the_rest_of_the_frame(one_thread: None) -> None:
    torch.manual_seed(0)
    encoder = _Counting(EfficientNetLite())
    zoom = ZoomIn(skip_clicks=1, size=64, min_crop=0.2)
    seg = ClickSegmenter(ClickHead(), encoder, work_height=64, zoom=zoom)
    img, gt = disk_image(hw=(90, 120), centre=(30, 40), radius=10)
    enc = seg.encode(img)
    work = working_size((90, 120), 64)
    first = seg.predict(enc, [Click(30, 40, True)])
    assert encoder.calls == [(1, 3, *work)]  # the first click runs on the whole frame
    prev = gt.astype(np.float32)
    prev[0:3, 110:] = 0.3  # below 0.5: not in the crop, kept as it is
    clicks = [Click(30, 40, True), Click(35, 45, True)]
    prob = seg.predict(enc, clicks, prev)
    region = crop_box(prev, clicks, (90, 120), zoom)
    assert region is not None
    y0, x0, y1, x1 = region
    assert encoder.calls[1] == (1, 3, *input_size(region, 64))  # the crop, enlarged
    assert prob.shape == gt.shape and prob.dtype == np.float32 and first.shape == gt.shape
    outside = np.ones_like(gt)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(prob[outside], prev[outside])
    seg.predict(enc, clicks, prev)  # same crop: its encoding is reused
    assert len(encoder.calls) == 2
    seg.zoom = None
    seg.predict(enc, clicks, prev)
    assert len(encoder.calls) == 2  # no zoom: the cached whole-frame features only


def test_zoom_crops_the_working_image_when_the_frame_is_not_kept(one_thread: None) -> None:
    from vos_core.interactive.clicks.predictor import FrameEncoding

    torch.manual_seed(0)
    encoder = _Counting(EfficientNetLite())
    seg = ClickSegmenter(
        ClickHead(), encoder, work_height=64, zoom=ZoomIn(skip_clicks=1, size=64, min_crop=0.2)
    )
    img, gt = disk_image(hw=(128, 160), centre=(40, 50), radius=10)
    full = seg.encode(img)
    wrapped = FrameEncoding.from_features(full.feats, full.rgb[0].permute(1, 2, 0).byte().numpy(), (128, 160))
    assert wrapped.frame is None
    prob = seg.predict(wrapped, [Click(40, 50, True), Click(45, 52, True)], gt)
    assert prob.shape == gt.shape and np.isfinite(prob).all()
    assert len(encoder.calls) == 2  # the full frame once, then the crop


def test_early_zoom_runs_the_first_click_again_on_the_crop_around_its_prediction(
    one_thread: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoder = _Counting(EfficientNetLite())
    zoom = ZoomIn(skip_clicks=2, early=1, early_gain=1.1, size=64, min_crop=0.2)
    seg = ClickSegmenter(ClickHead(), encoder, work_height=64, zoom=zoom, local=None)
    img, gt = disk_image(hw=(90, 120), centre=(30, 40), radius=10)
    enc = seg.encode(img)
    runs: list[tuple[tuple[int, int, int, int], np.ndarray | None]] = []

    def head(feats, rgb, region, clicks, prev, box):  # noqa: ANN001, ANN202
        runs.append((region, None if prev is None else np.array(prev)))
        y0, x0, y1, x1 = region
        return gt[y0:y1, x0:x1].astype(np.float32) * (0.8 if len(runs) == 1 else 0.9)

    monkeypatch.setattr(seg, "_run", head)
    first = [Click(30, 40, True)]
    prob = seg.predict(enc, first)
    region = crop_box(gt.astype(np.float32), first, (90, 120), zoom)
    assert region is not None and [r for r, _ in runs] == [(0, 0, 90, 120), region]
    previous = runs[1][1]
    assert previous is not None and np.array_equal(previous, gt * np.float32(0.8))  # the first pass
    assert encoder.calls[-1] == (1, 3, *input_size(region, 64))  # the crop, enlarged
    y0, x0, y1, x1 = region
    assert np.array_equal(prob[y0:y1, x0:x1], gt[y0:y1, x0:x1] * np.float32(0.9))
    runs.clear()  # the second click (before zoom-in starts) runs once, on the whole frame
    seg.predict(enc, [*first, Click(5, 5, False)], prob)
    assert [r for r, _ in runs] == [(0, 0, 90, 120)]
    for once in (ZoomIn(skip_clicks=2, size=64, min_crop=0.2), replace(zoom, early_gain=20.0)):
        runs.clear()  # early = 0, or a crop not enlarged early_gain times: the first click runs once
        seg.zoom = once
        seg.predict(enc, first)
        assert [r for r, _ in runs] == [(0, 0, 90, 120)]


def test_confine_keeps_the_second_pass_near_the_first_mask_only() -> None:
    first = np.zeros((60, 100), np.float32)
    first[20:40, 20:40] = 0.9  # short side 20: a band of 0.2 * 20 = 4 px
    second = np.zeros_like(first)
    second[18:42, 18:42] = 0.8  # the boundary moves by 2 px: kept
    second[20:40, 40:90] = 0.8  # grows into a touching look-alike: only 4 px of it kept
    out = confine(first, second, 0.2)
    assert out.dtype == np.float32 and (out[18:42, 18:42] == np.float32(0.8)).all()
    assert (out[25:35, 41:44] == np.float32(0.8)).all() and not out[:, 46:].any()
    assert np.array_equal(confine(np.zeros_like(first), second, 0.2), second)
