"""Distractor composites, the per-set held-out splits, instance label maps and the instance set."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.core.interactive.helpers import disk_image, static_root
from vos_core.data.masks import write_mask
from vos_core.errors import VosInputError
from vos_core.interactive.clicks.composite import CompositeConfig, add_distractors, cutout
from vos_core.interactive.clicks.data import Item, is_heldout, load_labels, static_items
from vos_core.interactive.clicks.instances import instance_samples


def test_distractors_are_pasted_beside_the_target_which_stays_mostly_visible() -> None:
    img, gt = disk_image(hw=(120, 200), centre=(60, 50), radius=18)
    other = cutout(*disk_image(hw=(60, 60), centre=(30, 30), radius=20, seed=3), group="disks")
    assert other is not None and other.mask.shape == (41, 41) and other.group == "disks"
    cfg = CompositeConfig(count=(3, 3), max_cover=0.1, min_keep=0.8)
    out, labels = add_distractors(img, gt, [other], np.random.default_rng(0), cfg, "disks")
    again = add_distractors(img, gt, [other], np.random.default_rng(0), cfg, "disks")
    assert np.array_equal(out, again[0]) and np.array_equal(labels, again[1])  # a pure function of the seed
    assert out.shape == img.shape and out.dtype == np.uint8 and labels.dtype == np.uint8
    ids = set(np.unique(labels).tolist())
    assert {0, 1, 2} <= ids and max(ids) <= 4  # target 1, up to three distractors 2..4
    assert (labels == 1).sum() >= 0.8 * gt.sum() and not ((labels == 1) & ~gt).any()
    assert not np.array_equal(out[labels >= 2], img[labels >= 2])  # something was pasted there
    # an existing label map (other instances as 2) keeps them and numbers new ones after them
    start = gt.astype(np.uint8)
    start[5:15, 150:190] = 2
    _, more = add_distractors(img, gt, [other], np.random.default_rng(1), cfg, labels=start)
    assert (more[5:15, 150:190] >= 2).all() and (more >= 3).any()
    # no target: nothing to paste beside
    empty = np.zeros_like(gt)
    same, none = add_distractors(img, empty, [other], np.random.default_rng(0))
    assert np.array_equal(same, img) and not none.any()
    assert cutout(img, empty) is None


def test_held_out_splits_per_set_and_instance_label_maps(tmp_path: Path) -> None:
    stems = [f"s{i}" for i in range(200)]
    ecssd = [s for s in stems if is_heldout(s)]
    penn = [s for s in stems if is_heldout(s, "pennfudan")]
    assert ecssd == [s for s in stems if is_heldout(s, "ecssd")]  # the ECSSD split is unchanged
    assert 0.1 < len(ecssd) / 200 < 0.3 and 0.2 < len(penn) / 200 < 0.4
    assert not any(is_heldout(s, "duts_tr") for s in stems)
    img, gt = disk_image()
    labels = gt.astype(np.uint8) * 3
    labels[2:10, 2:10] = 1
    labels[20:30, 100:110] = 7
    cv2.imwrite(str(tmp_path / "a.jpg"), img[..., ::-1])
    write_mask(tmp_path / "a.png", labels)
    rgb, out = load_labels(Item(tmp_path / "a.jpg", tmp_path / "a.png", 3))
    assert rgb.shape == img.shape and np.array_equal(out == 1, gt)
    assert set(np.unique(out[labels == 1])) | set(np.unique(out[labels == 7])) == {2, 3}


def test_instance_set_is_the_held_out_pedestrians_and_composites(tmp_path: Path) -> None:
    root = static_root(tmp_path / "static")
    samples = list(instance_samples(root, composites=3))
    penn = [s for s in samples if s.name.startswith("pennfudan")]
    comps = [s for s in samples if s.name.endswith("+d")]
    held = [f"pennfudan{i}" for i in range(40) if is_heldout(f"pennfudan{i}", "pennfudan")]
    assert len(penn) == 2 * len(held) and len(comps) == 3 and len(samples) == len(penn) + 3
    for s in samples:
        assert s.others is not None and s.others.any() and not (s.others & s.gt).any()
    assert all(is_heldout(s.name.split("+")[0], "ecssd") for s in comps)
    again = list(instance_samples(root, composites=3))
    assert all(np.array_equal(a.image, b.image) for a, b in zip(samples, again, strict=True))
    # training never sees the held-out images
    trained = {it.image.stem for it in static_items(root, ("pennfudan", "ecssd"))}
    assert not trained & {s.name.split("#")[0].split("+")[0] for s in samples}
    with pytest.raises(VosInputError, match="needs both"):
        next(instance_samples(tmp_path / "static" / "pennfudan"))
