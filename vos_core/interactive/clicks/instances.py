"""The held-out multi-instance set: objects with look-alikes beside them, never trained on.

Two parts, both from the held-out hash splits of :mod:`.data` (:func:`~.data.is_heldout`):
- Penn-Fudan held-out images (about 3 in 10): every pedestrian is scored as its own object, the
  other pedestrians of the image are its distractors;
- composites of ECSSD held-out images (:mod:`.composite`): each image's object with 2-4 pasted
  distractors (flipped/scaled copies of itself and cut-outs of other held-out ECSSD objects),
  made with a fixed seed per image, so the set is the same on every run.

:func:`instance_samples` yields :class:`~.protocol.Sample` s whose ``others`` mask the distractors
(the evaluation measures how much of the first click's prediction lands on them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from vos_core.data.masks import read_mask
from vos_core.errors import VosInputError
from vos_core.interactive.clicks.composite import CompositeConfig, add_distractors, cutout
from vos_core.interactive.clicks.data import HELDOUT_SET, INSTANCE_SET, image_mask_pairs, is_heldout, read_rgb
from vos_core.interactive.clicks.protocol import Sample

#: how the held-out composites are made (2-4 distractors, half of them copies of the object)
EVAL_COMPOSITES = CompositeConfig(count=(2, 4), self_copy=0.5)


def _labels(mask_path: Path, hw: tuple[int, int]) -> np.ndarray:
    return read_mask(mask_path, expected_hw=hw)


def multi_instance_samples(folder: Path) -> Iterator[Sample]:
    """Every object of the held-out images of a multi-object set (Penn-Fudan), the other objects of
    its image as ``others``."""
    pairs = [(i, m) for i, m in image_mask_pairs(folder) if is_heldout(i.stem, folder.name)]
    if not pairs:
        raise VosInputError(f"no held-out image/mask pairs in {folder}")
    for img_path, mask_path in pairs:
        image = read_rgb(img_path)
        labels = _labels(mask_path, image.shape[:2])
        objects = labels > 0
        for value in np.unique(labels):
            if value in (0, 255):
                continue
            gt = labels == value
            yield Sample(f"{img_path.stem}#{int(value)}", image, gt, objects & ~gt)


def composite_samples(folder: Path, count: int, cfg: CompositeConfig = EVAL_COMPOSITES) -> Iterator[Sample]:
    """Up to ``count`` composites of the held-out images of a single-object set (ECSSD): each image's
    object with distractors cut from itself and from the other held-out images of the set."""
    pairs = [(i, m) for i, m in image_mask_pairs(folder) if is_heldout(i.stem, folder.name)]
    if not pairs:
        raise VosInputError(f"no held-out image/mask pairs in {folder}")
    loaded = []
    for img_path, mask_path in pairs:
        image = read_rgb(img_path)
        loaded.append((img_path.stem, image, _labels(mask_path, image.shape[:2]) > 0))
    pool = [c for _, image, mask in loaded if (c := cutout(image, mask, folder.name, 200)) is not None]
    for stem, image, mask in loaded[:count]:
        if not mask.any():
            continue
        seed = int.from_bytes(hashlib.sha1(stem.encode("utf-8")).digest()[:4], "little")
        comp, labels = add_distractors(image, mask, pool, np.random.default_rng(seed), cfg, folder.name)
        yield Sample(f"{stem}+d", comp, labels == 1, labels >= 2)


def instance_samples(static_root: str | Path, composites: int = 60) -> Iterator[Sample]:
    """The held-out multi-instance set under a static-data root (``<root>/pennfudan``,
    ``<root>/ecssd``): Penn-Fudan held-out pedestrians, then ``composites`` ECSSD held-out composites."""
    root = Path(static_root)
    for name in (INSTANCE_SET, HELDOUT_SET):
        if not (root / name).is_dir():
            raise VosInputError(f"{root} has no {name}/ folder (the instance set needs both)")
    yield from multi_instance_samples(root / INSTANCE_SET)
    if composites:
        yield from composite_samples(root / HELDOUT_SET, composites)
