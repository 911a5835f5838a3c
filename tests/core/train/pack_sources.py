"""Tiny DAVIS-layout and static-set folders written on the fly (no shared data needed), for the
training-pack tests and the gpu_check smoke test."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from vos_core.data.pack import DataPack, write_pack

DAVIS_HW = (96, 160)
SEQUENCES = {"alpha": 7, "beta": 5, "lucia": 4}  # lucia is a dev sequence: never packed


def _texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    coarse = rng.integers(0, 256, (h // 8 + 1, w // 8 + 1, 3)).astype(np.uint8)
    return np.kron(coarse, np.ones((8, 8, 1), np.uint8))[:h, :w]


def _save_mask(path: Path, labels: np.ndarray) -> None:
    image = Image.fromarray(labels.astype(np.uint8), mode="P")
    palette = [0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0] + [0] * (256 * 3 - 12)
    image.putpalette(palette)
    image.save(path)


def make_davis(root: Path, seed: int = 0) -> Path:
    """``root`` as a DAVIS 2016 train root: a textured ellipse moving over texture per sequence."""
    rng = np.random.default_rng(seed)
    h, w = DAVIS_HW
    (root / "ImageSets").mkdir(parents=True)
    (root / "ImageSets" / "train.txt").write_text("\n".join(SEQUENCES) + "\n")
    yy, xx = np.mgrid[:h, :w]
    for name, n in SEQUENCES.items():
        images, masks = root / "JPEGImages" / "480p" / name, root / "Annotations" / "480p" / name
        images.mkdir(parents=True)
        masks.mkdir(parents=True)
        background, patch = _texture(rng, h, w), _texture(rng, h, w)
        for i in range(n):
            cy, cx = 40 + 2 * i, 50 + 5 * i
            inside = ((yy - cy) / 22.0) ** 2 + ((xx - cx) / 30.0) ** 2 <= 1
            frame = np.where(inside[..., None], patch, background)
            cv2.imwrite(str(images / f"{i:05d}.jpg"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
            _save_mask(masks / f"{i:05d}.png", inside.astype(np.uint8))
    return root


def make_static(root: Path, seed: int = 1) -> Path:
    """Two static sets: 'shapes' (4 images, one with an empty mask) and 'people' (3 images, two ids)."""
    rng = np.random.default_rng(seed)
    for name, count, ids in (("shapes", 4, 1), ("people", 3, 2)):
        images, masks = root / name / "images", root / name / "masks"
        images.mkdir(parents=True)
        masks.mkdir(parents=True)
        for i in range(count):
            h, w = int(rng.integers(60, 120)), int(rng.integers(60, 120))
            img = _texture(rng, h, w)
            labels = np.zeros((h, w), np.uint8)
            if not (name == "shapes" and i == 3):
                for k in range(ids):
                    y, x = int(rng.integers(0, h // 2)), int(rng.integers(0, w // 2))
                    labels[y : y + h // 3, x : x + w // 3] = k + 1
            cv2.imwrite(str(images / f"img{i}.jpg"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
            _save_mask(masks / f"img{i}.png", labels)
    return root


def make_pack(root: Path, crop: int = 48) -> DataPack:
    """A small training pack of both folders (50 MB budget, ``crop``) under ``root``."""
    write_pack(root / "pack", 50, davis=make_davis(root / "davis"), static=make_static(root / "static"),
               crop=crop)
    return DataPack(root / "pack")
