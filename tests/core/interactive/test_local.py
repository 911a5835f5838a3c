"""Click-local steps: the merge keeps only flips connected to the new click, the local square, and
the segmenter's use of them."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from tests.core.interactive.helpers import disk_image
from tests.core.interactive.test_zoom import _Counting
from vos_core.interactive.clicks.local import (
    LocalRefine,
    drop_negative_region,
    local_box,
    merge_near_click,
    seeded_regions,
    split_first_region,
    split_negative_region,
)
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


def test_a_negative_click_drops_the_whole_look_alike_under_it_but_never_the_clicked_object() -> None:
    hw = (100, 200)
    target, twin, far = _disk(hw, (50, 40), 15), _disk(hw, (50, 100), 15), _disk(hw, (50, 160), 15)
    prev = (target | twin | far).astype(np.float32)
    new = prev.copy()
    new[45:55, 95:105] = 0.0  # the model removes only a hole around the negative click
    clicks = [Click(50, 40, True), Click(50, 100, False)]
    out = drop_negative_region(prev, new, clicks, touch=3, bridge=2)
    assert out.dtype == np.float32 and not (out[twin] > 0.5).any()  # the whole twin goes
    assert (out[target] == 1).all() and (out[far] == 1).all()  # the object and the other look-alike stay
    # a negative click on the clicked object's own region changes only what the model changed
    on_target = [Click(50, 40, True), Click(50, 30, False)]
    assert np.array_equal(drop_negative_region(prev, new, on_target, 3, 2), new)
    # a positive last click changes nothing; a 1-pixel gap does not split a region
    assert np.array_equal(drop_negative_region(prev, new, clicks[:1], 3, 2), new)
    split = prev.copy()
    split[:, 100] = 0.0  # the twin cut in two halves by a 1-px line
    out = drop_negative_region(split, split, clicks, touch=3, bridge=2)
    assert not (out[twin] > 0.5).any()


def test_a_negative_click_splits_off_a_touching_look_alike_along_the_image_edge() -> None:
    hw = (100, 200)
    target, twin = _disk(hw, (50, 60), 25), _disk(hw, (50, 105), 25)  # they overlap: one region
    image = np.zeros((*hw, 3), np.uint8)
    image[:] = (30, 120, 40)
    image[twin] = (40, 60, 220)
    image[target] = (220, 40, 40)  # the object is in front
    prev = (target | twin).astype(np.float32)
    new = prev.copy()
    new[45:55, 110:120] = 0.0  # the model removes only a hole around the negative click
    clicks = [Click(50, 60, True), Click(50, 115, False)]
    out = split_negative_region(prev, new, image, clicks, touch=3, bridge=2)
    assert out.dtype == np.float32
    assert (out[target & ~twin] == 1).all()  # the object stays
    assert (out[twin & ~target] > 0.5).mean() < 0.05  # the look-alike goes, up to the watershed line
    # a positive last click, or a negative one on a region no positive click holds: unchanged
    assert np.array_equal(split_negative_region(prev, new, image, clicks[:1], 3, 2), new)
    apart = [Click(5, 5, True), Click(50, 115, False)]
    assert np.array_equal(split_negative_region(prev, new, image, apart, 3, 2), new)


def test_the_first_click_splits_off_a_touching_blob_as_thick_as_the_clicked_one() -> None:
    hw = (100, 200)
    target, twin = _disk(hw, (50, 60), 25), _disk(hw, (50, 105), 25)
    image = np.zeros((*hw, 3), np.uint8)
    image[:] = (30, 120, 40)
    image[twin] = (40, 60, 220)
    image[target] = (220, 40, 40)
    prob = (target | twin).astype(np.float32) * 0.9
    cfg = LocalRefine(split_first=True, split_spread=1.5)  # the two overlap: centres 1.8 depths apart
    out = split_first_region(prob, image, Click(50, 60, True), cfg)
    assert out.dtype == np.float32 and (out[target & ~twin] == np.float32(0.9)).all()
    assert (out[twin & ~target] > 0.5).mean() < 0.05
    # a thin part (a tail) is no look-alike: nothing goes
    tail = np.zeros(hw, bool)
    tail[47:53, 60:180] = True
    thin = (target | tail).astype(np.float32) * 0.9
    image[tail & ~target] = (40, 60, 220)
    assert np.array_equal(split_first_region(thin, image, Click(50, 60, True), cfg), thin)
    assert np.array_equal(split_first_region(prob, image, Click(50, 60, False), cfg), prob)


def test_seeded_regions_keep_only_what_the_positive_clicks_hold() -> None:
    hw = (100, 200)
    target, twin = _disk(hw, (50, 40), 15), _disk(hw, (50, 100), 15)
    prob = (target | twin).astype(np.float32) * 0.9
    out = seeded_regions(prob, [Click(50, 40, True), Click(10, 10, False)], touch=3, bridge=2)
    assert np.array_equal(out[target], prob[target]) and not out[twin].any()
    both = seeded_regions(prob, [Click(50, 40, True), Click(50, 100, True)], 3, 2)
    assert np.array_equal(both, prob)
    # the clicks are off the mask: nothing to anchor on, the mask is kept as it is
    assert np.array_equal(seeded_regions(prob, [Click(90, 190, True)], 3, 2), prob)
    # a fragment (under `fragment` times the clicked region's area) stays, a look-alike goes
    piece = _disk(hw, (90, 40), 4)
    prob[piece] = 0.9
    out = seeded_regions(prob, [Click(50, 40, True)], 3, 2, fragment=0.3)
    assert (out[piece] == np.float32(0.9)).all() and not out[twin].any()


def test_segmenter_applies_the_region_rules_from_the_first_click(
    one_thread: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    seg = ClickSegmenter(ClickHead(), _Counting(EfficientNetLite()), work_height=64, zoom=None, local=None)
    img, _ = disk_image(hw=(64, 128), centre=(32, 30), radius=12)
    enc = seg.encode(img)
    both = np.zeros((64, 128), np.float32)
    both[20:44, 18:42] = both[20:44, 86:110] = 0.9  # the head's answer: the object and its twin
    monkeypatch.setattr(seg, "_run", lambda *args: both.copy())
    one = [Click(32, 30, True)]
    assert np.array_equal(seg.predict(enc, one), both)  # rules off: the head's answer
    seg.local = LocalRefine(skip_clicks=5, seeded=True)
    assert not seg.predict(enc, one)[:, 64:].any() and seg.predict(enc, one)[32, 30] == np.float32(0.9)
    seg.local = LocalRefine(skip_clicks=5, seeded=True, seeded_clicks=1)  # the first click only
    assert seg.predict(enc, [*one, Click(5, 64, False)], both)[32, 98] == np.float32(0.9)
    seg.local = LocalRefine(skip_clicks=5, drop_negative=True)
    out = seg.predict(enc, [*one, Click(32, 98, False)], both)
    assert not out[:, 64:].any() and out[32, 30] == np.float32(0.9)
    joined = both.copy()
    joined[30:34, 42:86] = 0.9  # a bridge: the twin touches the object, the drop keeps it
    out = seg.predict(enc, [*one, Click(32, 98, False)], joined)
    assert out[32, 98] == np.float32(0.9)
    seg.local = LocalRefine(skip_clicks=5, split_negative=True)  # the split takes it off
    monkeypatch.setattr(seg, "_run", lambda *args: joined.copy())
    out = seg.predict(enc, [*one, Click(32, 98, False)], joined)
    assert out[32, 98] == 0 and out[32, 30] == np.float32(0.9)
