"""Training and evaluation items for the click model: static images (per instance) and DAVIS frames.

An item names one object: an image, its label map and the label id of the object. The held-out
evaluation parts are fixed hash splits of ECSSD (1 image in 5) and Penn-Fudan (3 in 10; a
multi-instance set: every pedestrian scored as its own object) (:func:`is_heldout`), never trained
on; the DAVIS dev sequences are never trained on either.
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
#: the sets whose hash split gives held-out evaluation images: (modulus, kept) -- an image is held
#: out when the first byte of the SHA-1 of its stem, modulo ``modulus``, is below ``kept``
HELDOUT_SPLITS = {"ecssd": (5, 1), "pennfudan": (10, 3)}
#: the single-object held-out set (the ECSSD split scored since session 6)
HELDOUT_SET = "ecssd"
#: the multi-instance held-out set (one id per pedestrian)
INSTANCE_SET = "pennfudan"


@dataclass(frozen=True)
class Item:
    """One object: ``image`` path, ``mask`` path (label map), ``label`` id of the object in it."""

    image: Path
    mask: Path
    label: int


def is_heldout(stem: str, set_name: str = HELDOUT_SET) -> bool:
    """True for the fixed held-out part of ``set_name`` (:data:`HELDOUT_SPLITS`, by SHA-1 of the
    stem; ECSSD about 1 image in 5, Penn-Fudan about 3 in 10); False for a set without a split."""
    if set_name not in HELDOUT_SPLITS:
        return False
    modulus, kept = HELDOUT_SPLITS[set_name]
    return hashlib.sha1(stem.encode("utf-8")).digest()[0] % modulus < kept


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
    minus the held-out splits of :data:`HELDOUT_SPLITS`) or only the held-out splits
    (``heldout=True``). Multi-object masks give one item per label present (labels are read
    lazily: pennfudan only)."""
    items: list[Item] = []
    for name in sets:
        if heldout and name not in HELDOUT_SPLITS:
            continue
        for img, mask in image_mask_pairs(root / name):
            if is_heldout(img.stem, name) != heldout:
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


def load_labels(item: Item) -> tuple[np.ndarray, np.ndarray]:
    """(H×W×3 uint8 RGB, H×W uint8 label map) of one item, resized to the image if needed: 1 = the
    item's object, 2.. = the other objects of a multi-object mask (distractors), 0 = background."""
    img = read_rgb(item.image)
    labels = read_mask(item.mask)
    if labels.shape != img.shape[:2]:
        labels = cv2.resize(labels, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_NEAREST)
    out = np.zeros(labels.shape, np.uint8)
    others = [int(v) for v in np.unique(labels) if v not in (0, 255, item.label)]
    for k, value in enumerate(others):
        out[labels == value] = min(2 + k, 254)
    out[labels == item.label] = 1
    return img, out


def load_item(item: Item) -> tuple[np.ndarray, np.ndarray]:
    """(H×W×3 uint8 RGB, H×W bool object mask) of one item, mask resized to the image if needed."""
    img, labels = load_labels(item)
    return img, labels == 1
