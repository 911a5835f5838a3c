"""What every frame source shares: the frame cache, index checks, the common properties and
context-manager protocol (:class:`CachedSource`), and the one frame-resizing rule (:func:`resize_frame`)."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from types import TracebackType
from typing import Self

import cv2
import numpy as np

#: Default byte budget of a :class:`FrameCache`: about 80 frames at 480p but only 4 at 4K.
FRAME_CACHE_BYTES = 100 * 1024 * 1024


class FrameCache:
    """A tiny LRU cache ``index -> H×W×3 frame``, bounded by a count and by a byte budget
    (the most recent frame is always kept, even when it alone exceeds ``max_bytes``)."""

    def __init__(self, capacity: int = 8, max_bytes: int = FRAME_CACHE_BYTES) -> None:
        self.capacity = max(0, capacity)
        self.max_bytes = max(0, max_bytes)
        self.nbytes = 0
        self._items: OrderedDict[int, np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, index: int) -> np.ndarray | None:
        frame = self._items.get(index)
        if frame is not None:
            self._items.move_to_end(index)
        return frame

    def put(self, index: int, frame: np.ndarray) -> None:
        if self.capacity == 0:
            return
        old = self._items.pop(index, None)
        if old is not None:
            self.nbytes -= old.nbytes
        self._items[index] = frame
        self.nbytes += frame.nbytes
        while len(self._items) > self.capacity or (self.nbytes > self.max_bytes and len(self._items) > 1):
            _, dropped = self._items.popitem(last=False)
            self.nbytes -= dropped.nbytes

    def clear(self) -> None:
        self._items.clear()
        self.nbytes = 0


def resize_frame(rgb: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """Resize an ``H×W[×C]`` image to ``size_hw`` (INTER_AREA when shrinking, else INTER_LINEAR)."""
    height, width = int(size_hw[0]), int(size_hw[1])
    if height <= 0 or width <= 0:
        raise ValueError(f"invalid target size {size_hw}")
    if rgb.shape[:2] == (height, width):
        return rgb
    shrinking = height * width < rgb.shape[0] * rgb.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(rgb, (width, height), interpolation=interpolation)


def check_index(i: int, length: int, path: Path) -> int:
    """Validate a frame index (negative indices count from the end) and return it as an int."""
    index = int(i)
    if index < 0:
        index += length
    if not 0 <= index < length:
        raise IndexError(f"frame {i} out of range for {path} ({length} frames)")
    return index


class CachedSource:
    """Base of the frame sources: ``path``, ``size`` (H, W), ``fps``, ``bad_frames`` (indices that
    failed to decode), a :class:`FrameCache`, and ``with`` support (``close`` on exit).
    Subclasses implement ``__len__``, ``read`` and ``close``."""

    def __init__(self, path: Path, fps: float, cache_size: int) -> None:
        self.path = path
        self._fps = float(fps)
        self._size = (0, 0)
        self._bad: set[int] = set()
        self._cache = FrameCache(cache_size)

    def __len__(self) -> int:
        raise NotImplementedError

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def bad_frames(self) -> list[int]:
        return sorted(self._bad)

    def _cached(self, i: int) -> tuple[int, np.ndarray | None]:
        """(checked index, a copy of the cached frame or None)."""
        index = check_index(i, len(self), self.path)
        cached = self._cache.get(index)
        return index, None if cached is None else cached.copy()

    def close(self) -> None:
        self._cache.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
