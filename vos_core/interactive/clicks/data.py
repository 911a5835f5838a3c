"""Training and evaluation items for the click model: static images (per instance) and DAVIS frames.

An item names one object: an image, its label map and the label id of the object. The held-out
evaluation part is a fixed hash split of ECSSD (:func:`is_heldout`), never trained on; the DAVIS dev
sequences are never trained on either.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vos_core.data.masks import read_mask
from vos_core.errors import VosInputError
from vos_core.train.data import DEV_SEQUENCES, IMAGE_EXTENSIONS

#: static sets used for training (pennfudan is multi-object: one item per pedestrian)
CLICK_STATIC_SETS = ("ecssd", "pascal_s", "weizmann_horse", "duts_tr", "pennfudan")
#: the set whose hash split gives the held-out evaluation images
HELDOUT_SET = "ecssd"
#: one image in HELDOUT_MODULUS of HELDOUT_SET is held out
HELDOUT_MODULUS = 5


@dataclass(frozen=True)
class Item:
    """One object: ``image`` path, ``mask`` path (label map), ``label`` id of the object in it."""

    image: Path
    mask: Path
    label: int


def is_heldout(stem: str) -> bool:
    """True for the fixed held-out part of :data:`HELDOUT_SET` (about 1 image in 5, by SHA-1 of the stem)."""
    digest = hashlib.sha1(stem.encode("utf-8")).digest()
    return digest[0] % HELDOUT_MODULUS == 0


def image_mask_pairs(folder: Path) -> list[tuple[Path, Path]]:
    images, masks = folder / "images", folder / "masks"
    if not images.is_dir() or not masks.is_dir():
        raise VosInputError(f"{folder} has no images/ and masks/ folders")
    out = []
    for img in sorted(images.iterdir()):
        mask = masks / (img.stem + ".png")
        if img.suffix.lower() in IMAGE_EXTENSIONS and mask.is_file():
            out.append((img, mask))
    return out


def static_items(root: Path, sets: tuple[str, ...] = CLICK_STATIC_SETS, heldout: bool = False) -> list[Item]:
    """Items of the static sets under ``root``: the training part (``heldout=False``: every set,
    minus the held-out split of :data:`HELDOUT_SET`) or only the held-out split (``heldout=True``).
    Multi-object masks give one item per label present (labels are read lazily: pennfudan only)."""
    items: list[Item] = []
    for name in sets:
        if heldout and name != HELDOUT_SET:
            continue
        for img, mask in image_mask_pairs(root / name):
            held = name == HELDOUT_SET and is_heldout(img.stem)
            if held != heldout:
                continue
            if name == "pennfudan":
                labels = np.unique(read_mask(mask))
                items.extend(Item(img, mask, int(v)) for v in labels if v > 0)
            else:
                items.append(Item(img, mask, 1))
    return items


def davis_items(root: Path, every: int = 3, exclude: tuple[str, ...] = DEV_SEQUENCES) -> list[Item]:
    """Every ``every``-th annotated frame of the DAVIS sequences under ``root`` except ``exclude``."""
    images, annotations = root / "JPEGImages" / "480p", root / "Annotations" / "480p"
    if not images.is_dir():
        raise VosInputError(f"{root} is not a DAVIS dataset (JPEGImages/480p)")
    items = []
    for seq in sorted(p.name for p in images.iterdir() if p.is_dir()):
        if seq in exclude:
            continue
        for jpg in sorted((images / seq).glob("*.jpg"))[::every]:
            png = annotations / seq / (jpg.stem + ".png")
            if png.is_file():
                items.append(Item(jpg, png, 1))
    return items


def read_rgb(path: Path) -> np.ndarray:
    """H×W×3 uint8 RGB."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise VosInputError(f"cannot read image {path}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def load_item(item: Item) -> tuple[np.ndarray, np.ndarray]:
    """(H×W×3 uint8 RGB, H×W bool object mask) of one item, mask resized to the image if needed."""
    img = read_rgb(item.image)
    labels = read_mask(item.mask)
    if labels.shape != img.shape[:2]:
        labels = cv2.resize(labels, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_NEAREST)
    return img, labels == item.label
