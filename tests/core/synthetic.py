"""Tiny synthetic videos for core tests: textured squares moving over a textured background."""

from __future__ import annotations

import numpy as np


class SyntheticVideo:
    """n frames of H×W RGB with ``objects`` squares moving diagonally; ground truth labels too."""

    def __init__(self, n: int = 12, hw: tuple[int, int] = (192, 256), objects: int = 1,
                 seed: int = 0, appear: dict[int, int] | None = None) -> None:
        rng = np.random.default_rng(seed)
        self.n, self.hw = n, hw
        h, w = hw
        base = rng.integers(0, 255, (h // 8 + 1, w // 8 + 1, 3)).astype(np.float32)
        self.background = np.kron(base, np.ones((8, 8, 1)))[:h, :w].astype(np.uint8)
        self.colours = [np.array(c, np.uint8) for c in ((250, 30, 30), (30, 30, 250), (240, 240, 30))]
        self.objects = objects
        self.appear = appear or {}  # object id -> first frame it is visible on
        self.size = min(h, w) // 4
        # each object carries its own texture (so that matching is unambiguous, as in real video)
        self.textures = []
        for k in range(objects):
            t = rng.integers(0, 120, (self.size // 8 + 1, self.size // 8 + 1, 3)).astype(np.float32)
            t = np.kron(t, np.ones((8, 8, 1)))[: self.size, : self.size]
            self.textures.append(np.clip(t + self.colours[k % 3] * 0.6, 0, 255).astype(np.uint8))

    def position(self, obj: int, i: int) -> tuple[int, int]:
        h, w = self.hw
        y = 8 + obj * (h // 3) % max(1, h - self.size - 16) + i % 16
        x = 8 + (i * 2 + obj * w // 3) % max(1, w - self.size - 16)
        return y, x

    def __len__(self) -> int:
        return self.n

    def read(self, i: int) -> np.ndarray:
        frame = self.background.copy()
        for k in range(self.objects):
            if i < self.appear.get(k + 1, 0):
                continue
            y, x = self.position(k, i)
            frame[y : y + self.size, x : x + self.size] = self.textures[k]
        return frame

    def labels(self, i: int) -> np.ndarray:
        lab = np.zeros(self.hw, np.uint8)
        for k in range(self.objects):
            if i < self.appear.get(k + 1, 0):
                continue
            y, x = self.position(k, i)
            lab[y : y + self.size, x : x + self.size] = k + 1
        return lab


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)
