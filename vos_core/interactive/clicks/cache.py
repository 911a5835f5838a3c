"""Precomputed frozen-encoder features for click-model training (memory-mapped, fp16).

The encoder is frozen, so every training view is encoded once: a ``size``×``size`` view of each item
(static images resized, DAVIS frames cropped to a random square around the object and resized);
with ``--distractors F`` a fraction F of the views are distractor composites (:mod:`.composite`:
look-alikes pasted beside the object). Files under the cache folder: ``s4.npy`` N×24×S/4×S/4,
``s8.npy`` N×40×S/8×S/8, ``s16.npy`` N×112×S/16×S/16 (fp16), ``masks.npy`` N×S×S (uint8: 0
background, 1 the object, 2 distractors: other instances, pasted look-alikes), ``rgb.npy``
N×S×S×3 (uint8 views), ``meta.json`` (count, size, sources).

``python -m vos_core.interactive.clicks.cache --out /tmp/clicks_cache [--size 320] [--duts 7000]
[--distractors 0.6]``
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from vos_core.data.box import mask_box
from vos_core.interactive.clicks.composite import Cutout, add_distractors, cutout
from vos_core.interactive.clicks.data import Item, davis_items, load_item, load_labels, static_items
from vos_core.models.encoders.runner import FrozenEncoder
from vos_core.models.registry import pretrained_lite0

CHANNELS = {"s4": 24, "s8": 40, "s16": 112}


@dataclass(frozen=True)
class FeatureCache:
    """Read-only view of a built cache (arrays are memory-mapped; ``rgb`` None when absent)."""

    s4: np.ndarray
    s8: np.ndarray
    s16: np.ndarray
    masks: np.ndarray
    size: int
    rgb: np.ndarray | None = None

    @staticmethod
    def open(folder: Path) -> FeatureCache:
        meta = json.loads((folder / "meta.json").read_text())
        n = int(meta["count"])
        names = ["s4", "s8", "s16", "masks"] + (["rgb"] if (folder / "rgb.npy").is_file() else [])
        arrays = {k: np.load(folder / f"{k}.npy", mmap_mode="r")[:n] for k in names}
        return FeatureCache(size=int(meta["size"]), **arrays)

    def __len__(self) -> int:
        return int(self.masks.shape[0])


def square_view(
    img: np.ndarray, mask: np.ndarray, size: int, davis: bool, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """size×size view: a resize of the whole image (static) or a random square crop holding the
    object's centre (DAVIS, side 60-100% of the short side), resized. ``mask``: H×W bool, or a
    label map whose 1 is the object."""
    if davis:
        h, w = mask.shape
        side = int(min(h, w) * rng.uniform(0.6, 1.0))
        ys, xs = np.nonzero(mask == 1)
        cy, cx = (int(ys.mean()), int(xs.mean())) if ys.size else (h // 2, w // 2)
        y0 = int(np.clip(cy - rng.uniform(0.25, 0.75) * side, 0, h - side))
        x0 = int(np.clip(cx - rng.uniform(0.25, 0.75) * side, 0, w - side))
        img, mask = img[y0 : y0 + side, x0 : x0 + side], mask[y0 : y0 + side, x0 : x0 + side]
    view = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
    m = cv2.resize(mask.astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST)
    return view, m


def zoom_view(
    img: np.ndarray, mask: np.ndarray, size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """size×size view as the zoom-in sees the object (:mod:`.zoom`): a square around the object's
    bounding box, its side the box's long side times 1.2-1.9 (at least 0.3 of the image's short
    side), centre jittered by up to 10% of the side, moved inside the image, resized. ``mask``:
    H×W bool, or a label map whose 1 is the object."""
    h, w = mask.shape
    box = mask_box(mask == 1)
    if box is None:
        return square_view(img, mask, size, True, rng)
    by0, bx0, by1, bx1 = box
    long_ = max(by1 - by0, bx1 - bx0)
    side = int(min(min(h, w), max(long_ * rng.uniform(1.2, 1.9), 0.3 * min(h, w))))
    cy = (by0 + by1 - 1) / 2 + rng.uniform(-0.1, 0.1) * side
    cx = (bx0 + bx1 - 1) / 2 + rng.uniform(-0.1, 0.1) * side
    y0 = int(np.clip(cy - side / 2, 0, h - side))
    x0 = int(np.clip(cx - side / 2, 0, w - side))
    img, mask = img[y0 : y0 + side, x0 : x0 + side], mask[y0 : y0 + side, x0 : x0 + side]
    method = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    view = cv2.resize(img, (size, size), interpolation=method)
    m = cv2.resize(mask.astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST)
    return view, m


def build_cache(
    out: Path,
    items: list[tuple[Item, bool]],
    size: int = 320,
    seed: int = 0,
    min_frac: float = 0.003,
    max_frac: float = 0.9,
    rgb_only: bool = False,
    zoom: bool = False,
    distractors: float = 0.0,
    pool: list[Cutout] | None = None,
) -> int:
    """Encode every item (``(item, is_davis)``) into ``out``; objects covering less than
    ``min_frac`` or more than ``max_frac`` of the view are skipped. Returns the count written.

    ``rgb_only``: add ``rgb.npy`` (N×S×S×3 uint8 views) to a cache built from the same items
    without it (views are re-made identically and checked against the cached masks).
    ``zoom``: every view is a :func:`zoom_view` (the object as the zoom-in sees it).
    ``distractors``: the fraction of items made into composites with cut-outs of ``pool``
    (:func:`~.composite.add_distractors`); the masks then keep other instances as 2."""
    if size % 16:
        raise ValueError(f"cache size must be a multiple of 16, got {size}")
    out.mkdir(parents=True, exist_ok=True)
    n_max = len(items)
    arrays = {}
    if not rgb_only:
        arrays = {
            k: np.lib.format.open_memmap(
                out / f"{k}.npy",
                mode="w+",
                dtype=np.float16,
                shape=(n_max, c, size // int(k[1:]), size // int(k[1:])),
            )
            for k, c in CHANNELS.items()
        }
    mode = "r" if rgb_only else "w+"
    masks = np.lib.format.open_memmap(out / "masks.npy", mode=mode, dtype=np.uint8, shape=(n_max, size, size))
    rgbs = np.lib.format.open_memmap(out / "rgb.npy", mode="w+", dtype=np.uint8, shape=(n_max, size, size, 3))
    encoder = None if rgb_only else FrozenEncoder(pretrained_lite0(), threads=1)
    rng = np.random.default_rng(seed)
    count, t0 = 0, time.time()
    for i, (item, davis) in enumerate(items):
        img, labels = load_labels(item)
        if distractors > 0 and rng.random() < distractors:
            group = "davis" if davis else item.image.parent.parent.name
            img, labels = add_distractors(img, labels == 1, pool or [], rng, group=group, labels=labels)
        labels = np.minimum(labels, 2)
        view, m = zoom_view(img, labels, size, rng) if zoom else square_view(img, labels, size, davis, rng)
        frac = float((m == 1).mean())
        if not min_frac <= frac <= max_frac:
            continue
        if encoder is not None:
            feats = encoder(torch.from_numpy(view).permute(2, 0, 1)[None].float())
            for k in CHANNELS:
                arrays[k][count] = getattr(feats, k)[0].numpy().astype(np.float16)
            masks[count] = m
        elif not np.array_equal(masks[count], m):
            raise ValueError(f"view {count} of {out} does not match its cached mask: other items or seed")
        rgbs[count] = view
        count += 1
        if i % 500 == 0:
            print(f"{i}/{n_max} items, {count} kept, {time.time() - t0:.0f}s", flush=True)
    for a in (*arrays.values(), masks, rgbs):
        if a.mode != "r":
            a.flush()
    if not rgb_only:
        (out / "meta.json").write_text(json.dumps({"count": count, "size": size, "items": n_max}))
    return count


def cutout_pool(items: list[Item], count: int, rng: np.random.Generator, max_side: int = 160) -> list[Cutout]:
    """Cut-outs of ``count`` random items (their set's name as the group), at most ``max_side`` long."""
    pool = []
    for i in rng.permutation(len(items))[:count]:
        item = items[int(i)]
        img, mask = load_item(item)
        cut = cutout(img, mask, item.image.parent.parent.name, max_side)
        if cut is not None:
            pool.append(cut)
    return pool


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[3].parent / "shared" / "data"
    )
    p.add_argument("--size", type=int, default=320)
    p.add_argument("--duts", type=int, default=7000, help="DUTS-TR images used (a fixed random subset)")
    p.add_argument("--davis-every", type=int, default=3)
    p.add_argument("--rgb-only", action="store_true", help="add rgb.npy to a cache built without it")
    p.add_argument(
        "--zoom",
        action="store_true",
        help="zoom-in views (zoom_view) of DAVIS frames, Penn-Fudan, Weizmann Horse and PASCAL-S",
    )
    p.add_argument(
        "--distractors", type=float, default=0.0, help="fraction of views made distractor composites"
    )
    p.add_argument("--pool", type=int, default=400, help="cut-outs (training static items) to paste")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    sets = (
        ("pascal_s", "weizmann_horse", "pennfudan")
        if args.zoom
        else ("ecssd", "pascal_s", "weizmann_horse", "pennfudan")
    )
    others = static_items(args.data / "static", sets)
    duts = [] if args.zoom else static_items(args.data / "static", ("duts_tr",))
    duts = [duts[i] for i in sorted(rng.permutation(len(duts))[: args.duts])]
    davis = davis_items(args.data / "davis2016-train", every=args.davis_every)
    items = [(it, False) for it in others + duts] + [(it, True) for it in davis]
    order = rng.permutation(len(items))
    pool = cutout_pool(others + duts, args.pool, rng) if args.distractors > 0 else []
    n = build_cache(
        args.out,
        [items[i] for i in order],
        size=args.size,
        rgb_only=args.rgb_only,
        zoom=args.zoom,
        distractors=args.distractors,
        pool=pool,
    )
    print(f"cache: {n} views of {len(items)} items in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
