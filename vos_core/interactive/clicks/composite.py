"""Distractor composites: look-alike objects pasted beside the clicked object.

A composite is an image with a label map: 1 = the target (the object the clicks are about), 2, 3, ...
= distractors (background for the target). Distractors are copies of the target itself (flipped,
scaled, brightness-jittered: the closest look-alike there is) and cut-outs of other objects (from
the same set when there is one: pedestrians beside a pedestrian, horses beside a horse). A pasted
distractor may cover part of the target (it is in front), but never most of it.

Used by the training cache (:mod:`.cache`, ``--distractors``) and by the held-out instance set of
the evaluation (:mod:`vos_core.clicks_eval` ``--instances``), with disjoint source images.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from vos_core.data.box import mask_box


@dataclass(frozen=True)
class Cutout:
    """An object cut out of its image: ``rgb`` h×w×3 uint8 (its bounding box), ``mask`` h×w bool;
    ``group``: where it came from (e.g. the static set's name), to pick look-alikes of the same kind."""

    rgb: np.ndarray
    mask: np.ndarray
    group: str = ""


@dataclass(frozen=True)
class CompositeConfig:
    """``count``: distractors pasted (inclusive range); ``self_copy``: chance that one is a copy of the
    target; ``same_group``: chance that a cut-out comes from the target's group; ``scale``: size of a
    distractor / the target's (long sides, inclusive range); ``max_cover``: most of the target a
    distractor may cover; ``min_keep``: least of the target that stays visible in the end."""

    count: tuple[int, int] = (1, 4)
    self_copy: float = 0.5
    same_group: float = 0.6
    scale: tuple[float, float] = (0.6, 1.2)
    max_cover: float = 0.15
    min_keep: float = 0.6
    tries: int = 12


def cutout(image: np.ndarray, mask: np.ndarray, group: str = "", max_side: int = 0) -> Cutout | None:
    """The object of ``mask`` (H×W bool) in ``image`` (H×W×3) as a :class:`Cutout` (None when the
    mask is empty); ``max_side`` > 0 shrinks it to at most that long side (memory of a pool)."""
    box = mask_box(mask)
    if box is None:
        return None
    y0, x0, y1, x1 = box
    rgb, m = image[y0:y1, x0:x1], mask[y0:y1, x0:x1]
    long_ = max(y1 - y0, x1 - x0)
    if max_side and long_ > max_side:
        s = max_side / long_
        size = (max(1, int(round((x1 - x0) * s))), max(1, int(round((y1 - y0) * s))))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        m = cv2.resize(m.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
    return Cutout(np.ascontiguousarray(rgb), np.ascontiguousarray(m), group)


def _transform(cut: Cutout, long_side: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The cut-out resized to ``long_side``, flipped half the time, brightness ×0.8-1.2
    -> (h×w×3 float32, h×w float32 alpha with a soft 1-pixel edge)."""
    h, w = cut.mask.shape
    s = long_side / max(h, w)
    size = (max(2, int(round(w * s))), max(2, int(round(h * s))))
    rgb = cv2.resize(cut.rgb, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    alpha = cv2.resize(cut.mask.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        rgb, alpha = rgb[:, ::-1], alpha[:, ::-1]
    rgb = rgb.astype(np.float32) * float(rng.uniform(0.8, 1.2))
    alpha = cv2.GaussianBlur(np.ascontiguousarray(alpha), (3, 3), 0)
    return rgb, alpha


def add_distractors(
    image: np.ndarray,
    target: np.ndarray,
    pool: Sequence[Cutout],
    rng: np.random.Generator,
    cfg: CompositeConfig | None = None,
    group: str = "",
    labels: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Paste distractors into ``image`` (H×W×3 uint8) beside ``target`` (H×W bool).

    ``labels`` (H×W uint8, optional): an existing label map (1 = target, 2.. = distractors already
    there, e.g. other pedestrians); new distractors get the next ids. Returns (H×W×3 uint8 composite,
    H×W uint8 label map). Without a target (empty mask) the inputs come back unchanged."""
    cfg = cfg or CompositeConfig()
    out_labels = target.astype(np.uint8) if labels is None else labels.copy()
    box = mask_box(target)
    if box is None:
        return image.copy(), out_labels
    h, w = target.shape
    area0 = int(target.sum())
    target_long = max(box[2] - box[0], box[3] - box[1])
    own = cutout(image, target, group)
    canvas = image.astype(np.float32)
    next_id = max(2, int(out_labels.max()) + 1)
    for _ in range(int(rng.integers(cfg.count[0], cfg.count[1] + 1))):
        if own is not None and rng.random() < cfg.self_copy:
            cut = own
        else:
            same = [c for c in pool if c.group == group] if group and rng.random() < cfg.same_group else []
            choices = same or list(pool)
            if not choices:
                continue
            cut = choices[int(rng.integers(len(choices)))]
        long_side = min(target_long * rng.uniform(*cfg.scale), 0.9 * min(h, w))
        rgb, alpha = _transform(cut, long_side, rng)
        ph, pw = alpha.shape
        if ph >= h or pw >= w:
            continue
        for _ in range(cfg.tries):
            y0, x0 = int(rng.integers(0, h - ph + 1)), int(rng.integers(0, w - pw + 1))
            solid = alpha > 0.5
            region = out_labels[y0 : y0 + ph, x0 : x0 + pw]
            covered = int((solid & (region == 1)).sum())
            if covered > cfg.max_cover * area0:
                continue
            if int((out_labels == 1).sum()) - covered < cfg.min_keep * area0:
                continue
            a = alpha[..., None]
            canvas[y0 : y0 + ph, x0 : x0 + pw] = a * rgb + (1 - a) * canvas[y0 : y0 + ph, x0 : x0 + pw]
            region[solid] = next_id
            next_id = min(next_id + 1, 255)
            break
    return np.clip(canvas, 0, 255).astype(np.uint8), out_labels
