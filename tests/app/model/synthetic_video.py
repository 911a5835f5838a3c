"""A tiny synthetic video for app tests: a textured square moving right over a noisy background.

The square is brighter than the background (grey-level guides, e.g. guided upsampling, see it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

WIDTH, HEIGHT = 128, 96
N_FRAMES = 20
SQUARE = 32
STEP = 3
FPS = 10


@dataclass(frozen=True)
class SyntheticVideo:
    path: Path
    frames: list[np.ndarray]  # RGB as encoded (before compression)
    masks: list[np.ndarray]  # ground truth labels (square = 1)

    @property
    def size(self) -> tuple[int, int]:
        return HEIGHT, WIDTH


def _codec() -> str:
    for codec in ("libx264", "mpeg4"):
        if codec in av.codecs_available:
            return codec
    raise RuntimeError("no H.264 or MPEG-4 encoder in this PyAV build")


def square_position(index: int) -> tuple[int, int]:
    """(top, left) of the square in frame ``index``."""
    return (HEIGHT - SQUARE) // 2, 8 + STEP * index


def render(index: int) -> tuple[np.ndarray, np.ndarray]:
    """Frame ``index`` (a bright checkered square on dark green noise) and its mask."""
    rng = np.random.default_rng(0)
    frame = (rng.integers(0, 40, (HEIGHT, WIDTH, 3)) + np.array([20, 60, 30])).astype(np.uint8)
    yy, xx = np.mgrid[:SQUARE, :SQUARE]
    square = np.empty((SQUARE, SQUARE, 3), np.uint8)
    square[:] = (250, 230, 200)
    square[((yy // 4 + xx // 4) % 2) == 0] = (200, 180, 150)
    top, left = square_position(index)
    frame[top : top + SQUARE, left : left + SQUARE] = square
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    mask[top : top + SQUARE, left : left + SQUARE] = 1
    return frame, mask


def make_video(path: Path, n_frames: int = N_FRAMES) -> SyntheticVideo:
    codec = _codec()
    frames, masks = [], []
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=FPS)
        stream.width, stream.height = WIDTH, HEIGHT
        stream.pix_fmt = "yuv420p"
        for index in range(n_frames):
            frame, mask = render(index)
            frames.append(frame)
            masks.append(mask)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return SyntheticVideo(path, frames, masks)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0
