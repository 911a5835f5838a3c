"""Click-local steps: the merge keeps only flips connected to the new click, the local square, and
the segmenter's use of them."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from tests.core.interactive.helpers import disk_image
from tests.core.interactive.test_zoom import _Counting
from vos_core.interactive.clicks.local import LocalRefine, local_box, merge_near_click
from vos_core.interactive.clicks.model import ClickHead
from vos_core.interactive.clicks.predictor import ClickSegmenter
from vos_core.interactive.clicks.simulate import Click
from vos_core.models.encoders.efficientnet_lite import EfficientNetLite


def _disk(hw: tuple[int, int], centre: tuple[int, int], radius: int) -> np.ndarray:
    m = np.zeros(hw, np.uint8)
    cv2.circle(m, (centre[1], centre[0]), radius, 1, -1)
    return m.astype(bool)


def test_merge_keeps_only_the_flips_that_touch_the_click() -> None:
    hw = (100, 160)
    prev = _disk(hw, (50, 50), 20).astype(np.float32) * 0.9
    near = _disk(hw, (50, 80), 8)  # added next to the click at (50, 76)
    far = _disk(hw, (20, 140), 8)  # added across the frame: a spill
    cut = _disk(hw, (85, 50), 4) & (prev > 0.5)  # removed, not touching the click
    new = prev.copy()
    new[near | far] = 0.8
    new[cut] = 0.1
    new[50, 50] = 0.7  # a probability change without a label flip
    out = merge_near_click(prev, new, Click(50, 76, True), touch=3)
    assert out.dtype == np.float32 and out.shape == hw
    assert np.all(out[near & (prev < 0.5)] == np.float32(0.8))
    assert np.array_equal(out[far], prev[far]) and np.array_equal(out[cut], prev[cut])
    assert out[50, 50] == np.float32(0.7)
    # a click whose pixel does not flip still takes a flipped region within `touch` pixels
    assert np.all(merge_near_click(prev, new, Click(50, 90, True), touch=3)[near & (prev < 0.5)] == 0.8)
    assert np.array_equal(merge_near_click(prev, prev, Click(0, 0, False), 3), prev)


def test_local_box_is_a_square_around_the_click_sized_by_the_object_inside_the_frame() -> None:
    cfg = LocalRefine(rel_side=0.3, min_side=48, max_side=192)
    prev = np.zeros((480, 854), np.float32)
    prev[100:300, 300:500] = 1.0  # 200 px object: a 60 px square
    y0, x0, y1, x1 = local_box(prev, Click(150, 320, True), (480, 854), cfg)
    assert y1 - y0 == 60 and x1 - x0 == 60 and y0 <= 150 < y1 and x0 <= 320 < x1
    # near the border the square moves inside the frame; small objects get the minimum side
    small = np.zeros((480, 854), np.float32)
    small[0:20, 0:20] = 1.0
    assert local_box(small, Click(2, 851, False), (480, 854), cfg) == (0, 854 - 48, 48, 854)
    # an empty mask: the frame's short side sets the size (0.3 × 480), clipped to the frame
    assert local_box(np.zeros((480, 854)), Click(240, 400, True), (480, 854), cfg) == (168, 328, 312, 472)
    assert local_box(np.zeros((40, 60)), Click(20, 30, True), (40, 60), cfg) == (0, 10, 40, 50)
    # the flips the click made size the square (focus_expansion × their extent), within the limits
    focus = np.zeros((480, 854), bool)
    focus[140:170, 310:350] = True  # 40 px of flips: an 80 px square
    y0, x0, y1, x1 = local_box(prev, Click(150, 320, True), (480, 854), cfg, focus)
    assert y1 - y0 == 80 and x1 - x0 == 80 and y0 <= 150 < y1 and x0 <= 320 < x1
    focus[:] = False
    focus[150, 320] = True  # a single pixel: the minimum side
    assert local_box(prev, Click(150, 320, True), (480, 854), cfg, focus)[2:] == (174, 344)
    focus[:] = False  # no flips: the object's size as without focus
    assert local_box(prev, Click(150, 320, True), (480, 854), cfg, focus)[2] - 120 == 60


def test_segmenter_runs_the_local_square_after_the_first_clicks(one_thread: None) -> None:
    torch.manual_seed(0)
    encoder = _Counting(EfficientNetLite())
    local = LocalRefine(skip_clicks=1, global_run=False, rel_side=0.5, min_side=16, size=64)
    seg = ClickSegmenter(ClickHead(), encoder, work_height=64, zoom=None, local=local)
    img, gt = disk_image(hw=(90, 120), centre=(45, 60), radius=20)
    enc = seg.encode(img)
    seg.predict(enc, [Click(45, 60, True)], gt)  # the first click: the whole frame only
    assert len(encoder.calls) == 1
    clicks = [Click(45, 60, True), Click(30, 70, False)]
    prob = seg.predict(enc, clicks, gt)
    assert encoder.calls[1] == (1, 3, 64, 64)
    y0, x0, y1, x1 = local_box(gt.astype(np.float32), clicks[-1], (90, 120), local)
    outside = np.ones_like(gt)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(prob[outside], gt.astype(np.float32)[outside])  # only the square changed
    assert np.isfinite(prob).all() and prob.dtype == np.float32
    # with the whole-frame run first, the merge then the square: one full run and one local encoding
    seg.local = LocalRefine(skip_clicks=1, size=64, rel_side=0.5, min_side=16)
    calls = len(encoder.calls)
    assert seg.predict(enc, clicks, gt).shape == gt.shape
    assert encoder.calls[calls:] == [(1, 3, 64, 64)]
    seg.local = None
    seg.predict(enc, clicks, gt)
    assert len(encoder.calls) == calls + 1  # no local steps: the cached features only
