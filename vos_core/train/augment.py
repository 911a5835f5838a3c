"""Image/mask augmentation helpers for training clips (numpy + OpenCV, seeded generators only)."""

from __future__ import annotations

import math

import cv2
import numpy as np

from vos_core.data.box import mask_box


def random_affine(
    rng: np.random.Generator,
    hw: tuple[int, int],
    rotate: float = 20.0,
    scale: tuple[float, float] = (0.9, 1.1),
    shear: float = 10.0,
    translate: float = 0.1,
    centre: tuple[float, float] | None = None,
) -> np.ndarray:
    """A random 2×3 affine matrix about ``centre`` (default: image centre) of an H×W image."""
    h, w = hw
    cx, cy = centre if centre is not None else (w / 2.0, h / 2.0)
    a = math.radians(rng.uniform(-rotate, rotate))
    s = rng.uniform(*scale)
    sh = math.radians(rng.uniform(-shear, shear))
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    shm = np.array([[1.0, math.tan(sh)], [0.0, 1.0]])
    lin = s * rot @ shm
    tx, ty = rng.uniform(-translate, translate) * w, rng.uniform(-translate, translate) * h
    offset = np.array([cx, cy]) - lin @ np.array([cx, cy]) + np.array([tx, ty])
    return np.concatenate([lin, offset[:, None]], axis=1).astype(np.float32)


def warp_image(img: np.ndarray, m: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """H×W×3 uint8 -> warped to hw, reflected borders."""
    return cv2.warpAffine(img, m, (hw[1], hw[0]), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


def warp_mask(mask: np.ndarray, m: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """H×W uint8 -> warped to hw by nearest neighbour, zero outside."""
    return cv2.warpAffine(mask, m, (hw[1], hw[0]), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=0)


def cover_resize(
    img: np.ndarray, mask: np.ndarray, hw: tuple[int, int], rng: np.random.Generator, zoom: float = 1.3
) -> tuple[np.ndarray, np.ndarray]:
    """Resize so the image covers hw (times a random zoom in [1, zoom]), then random-crop to hw."""
    h, w = hw
    ih, iw = img.shape[:2]
    s = max(h / ih, w / iw) * rng.uniform(1.0, zoom)
    nh, nw = max(h, int(math.ceil(ih * s))), max(w, int(math.ceil(iw * s)))
    img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
    mask = cv2.resize(mask, (nw, nh), interpolation=cv2.INTER_NEAREST)
    y = int(rng.integers(0, nh - h + 1))
    x = int(rng.integers(0, nw - w + 1))
    return img[y : y + h, x : x + w], mask[y : y + h, x : x + w]


def colour_jitter(img: np.ndarray, rng: np.random.Generator, strength: float = 0.1) -> np.ndarray:
    """Random brightness/contrast/per-channel gain."""
    f = img.astype(np.float32)
    gain = 1.0 + rng.uniform(-strength, strength, size=3).astype(np.float32)
    contrast = 1.0 + rng.uniform(-strength, strength)
    mean = f.mean()
    f = (f - mean) * contrast + mean
    f = f * gain + rng.uniform(-strength, strength) * 255
    return np.clip(f, 0, 255).astype(np.uint8)


def object_crop(img: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Cut the bounding box of the mask's object (None when the mask is empty)."""
    box = mask_box(mask)
    if box is None:
        return None
    y0, x0, y1, x1 = box
    return img[y0:y1, x0:x1], mask[y0:y1, x0:x1]
