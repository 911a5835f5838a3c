"""Synthetic images and a tiny DAVIS-like folder for the click-model tests."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from vos_core.data.masks import write_mask


def disk_image(
    hw: tuple[int, int] = (96, 128), centre: tuple[int, int] = (48, 60), radius: int = 24, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(H×W×3 RGB, H×W bool): a red textured disk on a dark green textured background."""
    rng = np.random.default_rng(seed)
    h, w = hw
    img = np.empty((h, w, 3), np.uint8)
    img[:] = (20, 90, 30)
    img = np.clip(img.astype(np.int16) + rng.integers(-15, 16, img.shape), 0, 255).astype(np.uint8)
    mask = np.zeros((h, w), np.uint8)
    cv2.circle(mask, (centre[1], centre[0]), radius, 1, -1)
    img[mask > 0] = (230, 40, 40)
    return img, mask.astype(bool)


def make_davis(root: Path, sequences: tuple[str, ...] = ("alpha", "beta"), frames: int = 2) -> Path:
    """A DAVIS-style folder: JPEGImages/480p/<seq>/%05d.jpg and Annotations/480p/<seq>/%05d.png."""
    for k, seq in enumerate(sequences):
        (root / "JPEGImages" / "480p" / seq).mkdir(parents=True)
        (root / "Annotations" / "480p" / seq).mkdir(parents=True)
        for i in range(frames):
            img, mask = disk_image(centre=(40 + 4 * i, 50 + 10 * k), seed=k * 10 + i)
            cv2.imwrite(str(root / "JPEGImages" / "480p" / seq / f"{i:05d}.jpg"), img[..., ::-1])
            write_mask(root / "Annotations" / "480p" / seq / f"{i:05d}.png", mask.astype(np.uint8))
    return root


def static_root(root: Path) -> Path:
    """pennfudan/ (two pedestrians per image) and ecssd/ (one object), 40 images each."""
    for name in ("pennfudan", "ecssd"):
        (root / name / "images").mkdir(parents=True)
        (root / name / "masks").mkdir()
        for i in range(40):
            img, gt = disk_image(hw=(80, 120), centre=(40, 30), radius=12, seed=i)
            labels = gt.astype(np.uint8)
            if name == "pennfudan":
                labels[25:55, 80:100] = 2
            cv2.imwrite(str(root / name / "images" / f"{name}{i}.jpg"), img[..., ::-1])
            write_mask(root / name / "masks" / f"{name}{i}.png", labels)
    return root
