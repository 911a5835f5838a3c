"""Frame sources: a uniform, lazy, random-access view of a video file or a folder of images.

Every source returns frames as ``H×W×3`` ``uint8`` **RGB** arrays, indexed ``0..len-1`` in
presentation order. ``VideoFileSource`` lives in :mod:`vos_core.data.video` (imported lazily so
folder-only users never load PyAV) and is re-exported here.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self, runtime_checkable

import cv2
import numpy as np
from PIL import Image

from vos_core.errors import VosInputError

if TYPE_CHECKING:
    from vos_core.data.video import VideoFileSource

__all__ = [
    "FRAME_CACHE_BYTES",
    "IMAGE_EXTENSIONS",
    "VIDEO_EXTENSIONS",
    "FolderSource",
    "FrameCache",
    "FrameSource",
    "VideoFileSource",
    "natural_sort_key",
    "open_source",
    "resize_frame",
]

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
VIDEO_EXTENSIONS = frozenset({".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v"})


@runtime_checkable
class FrameSource(Protocol):
    """A finite sequence of RGB frames. Use as a context manager or call :meth:`close`."""

    name: str
    path: Path

    def __len__(self) -> int: ...

    @property
    def size(self) -> tuple[int, int]:
        """``(H, W)`` of frame 0."""
        ...

    @property
    def fps(self) -> float: ...

    @property
    def bad_frames(self) -> list[int]:
        """Indices found to be undecodable so far (sorted)."""
        ...

    def read(self, i: int) -> np.ndarray:
        """Frame ``i`` as an ``H×W×3`` uint8 RGB array; raises ``VosInputError`` if undecodable."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


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


def natural_sort_key(name: str) -> list[Any]:
    """Sort key putting ``"2.jpg"`` before ``"10.jpg"`` (case-insensitive)."""
    parts = re.split(r"(\d+)", name.lower())
    return [int(part) if index % 2 else part for index, part in enumerate(parts)]


def check_index(i: int, length: int, path: Path) -> int:
    """Validate a frame index (negative indices count from the end) and return it as an int."""
    index = int(i)
    if index < 0:
        index += length
    if not 0 <= index < length:
        raise IndexError(f"frame {i} out of range for {path} ({length} frames)")
    return index


class FolderSource:
    """Frames from a folder of images, naturally sorted by file name.

    Non-image files and hidden files are ignored. All images must share frame 0's size; this is
    checked at open by reading only the image headers. Images are decoded on demand.
    """

    def __init__(self, folder: str | Path, fps: float = 24.0, cache_size: int = 8) -> None:
        self.path = Path(folder)
        self.name = self.path.name
        self._fps = float(fps)
        self._bad: set[int] = set()
        self._cache = FrameCache(cache_size)
        self.files: list[Path] = []
        self._size = (0, 0)
        if not self.path.is_dir():
            raise VosInputError(f"Frame folder not found: {self.path}")
        files = [
            entry
            for entry in self.path.iterdir()
            if entry.suffix.lower() in IMAGE_EXTENSIONS
            and not entry.name.startswith(".")
            and entry.is_file()
        ]
        if not files:
            raise VosInputError(
                f"No images found in {self.path} (expected "
                f"{', '.join(sorted(ext[1:] for ext in IMAGE_EXTENSIONS))})"
            )
        self.files = sorted(files, key=lambda entry: natural_sort_key(entry.name))
        self._size = self._check_sizes()

    def _header_size(self, file: Path) -> tuple[int, int]:
        try:
            with Image.open(file) as image:
                width, height = image.size
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
            raise VosInputError(f"Cannot read image {file}: {error}") from error
        return height, width

    def _check_sizes(self) -> tuple[int, int]:
        first = self._header_size(self.files[0])
        for file in self.files[1:]:
            size = self._header_size(file)
            if size != first:
                raise VosInputError(
                    f"Image {file} is {size[1]}×{size[0]} but {self.files[0].name} is "
                    f"{first[1]}×{first[0]} (W×H); all frames in a folder must have the same size"
                )
        return first

    def __len__(self) -> int:
        return len(self.files)

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def bad_frames(self) -> list[int]:
        return sorted(self._bad)

    def read(self, i: int) -> np.ndarray:
        index = check_index(i, len(self.files), self.path)
        cached = self._cache.get(index)
        if cached is not None:
            return cached.copy()
        file = self.files[index]
        try:
            with Image.open(file) as image:
                image.load()
                rgb = np.array(image.convert("RGB"), dtype=np.uint8)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
            self._bad.add(index)
            raise VosInputError(f"Cannot decode image {file} (frame {index}): {error}") from error
        if rgb.shape[:2] != self._size:
            self._bad.add(index)
            raise VosInputError(
                f"Image {file} decoded as {rgb.shape[1]}×{rgb.shape[0]} but frames are "
                f"{self._size[1]}×{self._size[0]} (W×H)"
            )
        self._cache.put(index, rgb)
        return rgb.copy()

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

    def __repr__(self) -> str:
        return f"FolderSource({str(self.path)!r}, frames={len(self)}, size={self._size})"


def open_source(path: str | Path) -> FrameSource:
    """Open a folder of images (:class:`FolderSource`) or a video file (``VideoFileSource``)."""
    source_path = Path(path)
    if not source_path.exists():
        raise VosInputError(f"Input not found: {source_path}")
    if source_path.is_dir():
        return FolderSource(source_path)
    if source_path.suffix.lower() not in VIDEO_EXTENSIONS:
        raise VosInputError(
            f"Unsupported input {source_path}: expected a folder of images or a video file "
            f"({', '.join(sorted(ext[1:] for ext in VIDEO_EXTENSIONS))})"
        )
    from vos_core.data.video import VideoFileSource

    return VideoFileSource(source_path)


def __getattr__(name: str) -> Any:
    if name == "VideoFileSource":
        from vos_core.data.video import VideoFileSource

        return VideoFileSource
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
