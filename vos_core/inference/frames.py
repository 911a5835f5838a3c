"""What the session reads: the frame source protocol, a prepared (read and encoded) frame, and the
processing size of a video's frames."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from vos_core.models.base import FrameFeatures


class FrameReader(Protocol):
    """What the session needs of a frame source: RGB uint8 H×W×3 frames by index."""

    def __len__(self) -> int: ...

    def read(self, index: int) -> np.ndarray: ...


@dataclass(frozen=True)
class Prepared:
    """A frame read and encoded ahead of its readout (times in milliseconds); ``mirrored``: the
    features of the frame mirrored left-right (flip test-time augmentation), or None."""

    features: FrameFeatures
    read_ms: float
    encode_ms: float
    mirrored: FrameFeatures | None = None


def processing_size(hw: tuple[int, int], max_height: int, min_height: int = 0) -> tuple[int, int]:
    """Original (H, W) -> processing (H', W'): downscaled so that H' <= max_height, upscaled so that
    H' >= min(min_height, max_height); the aspect ratio is kept."""
    h, w = hw
    target = min(max(h, min_height), max_height)
    if target == h:
        return h, w
    s = target / h
    return target, max(32, int(round(w * s)))
