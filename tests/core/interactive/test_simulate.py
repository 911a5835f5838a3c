"""Click simulation: the protocol's next click and the training start states."""

from __future__ import annotations

import numpy as np

from vos_core.interactive.clicks.simulate import (
    initial_clicks,
    jittered_box,
    next_click,
    perturbed_mask,
    random_interior_point,
)


def _square(hw=(60, 80), y0=10, x0=20, size=30) -> np.ndarray:
    m = np.zeros(hw, bool)
    m[y0 : y0 + size, x0 : x0 + size] = True
    return m


def test_first_click_is_at_the_object_centre() -> None:
    gt = _square()
    click = next_click(np.zeros_like(gt), gt)
    assert click is not None and click.positive
    assert abs(click.y - 24.5) <= 1 and abs(click.x - 34.5) <= 1


def test_false_positive_region_gives_a_negative_click_in_it() -> None:
    gt = _square()
    pred = gt.copy()
    pred[40:60, 0:20] = True  # a large false positive blob
    pred[10:12, 20:22] = False  # a tiny false negative
    click = next_click(pred, gt)
    assert click is not None and not click.positive
    assert pred[int(click.y), int(click.x)] and not gt[int(click.y), int(click.x)]


def test_no_click_when_the_prediction_is_perfect_and_ignore_masks_errors() -> None:
    gt = _square()
    assert next_click(gt.copy(), gt) is None
    pred = gt.copy()
    pred[0:5, 0:5] = True
    ignore = np.zeros_like(gt)
    ignore[0:5, 0:5] = True
    assert next_click(pred, gt, ignore) is None
    assert next_click(pred, gt) is not None


def test_training_start_states_stay_where_they_belong() -> None:
    gt = _square()
    rng = np.random.default_rng(3)
    for _ in range(20):
        clicks = initial_clicks(gt, rng)
        assert clicks and clicks[0].positive
        for c in clicks:
            assert gt[int(c.y), int(c.x)] == c.positive
    p = random_interior_point(gt, rng, 0.9)
    assert p is not None and 20 <= p[0] <= 29 and 30 <= p[1] <= 39  # deep inside: near the centre
    assert random_interior_point(np.zeros_like(gt), rng) is None
    box = jittered_box(gt, rng, jitter=0.0)
    assert box == (10, 20, 40, 50)
    wrong = perturbed_mask(gt, rng)
    assert wrong.shape == gt.shape and wrong.dtype == bool
