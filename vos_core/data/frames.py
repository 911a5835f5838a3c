"""Frame sources: a uniform, lazy, random-access view of a video file or a folder of images.

Every source returns frames as ``H×W×3`` ``uint8`` **RGB** arrays, indexed ``0..len-1`` in
presentation order. ``VideoFileSource`` lives in :mod:`vos_core.data.video` (imported lazily so
folder-only users never load PyAV) and is re-exported here.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self, runtime_checkable

import numpy as np
from PIL import Image

from vos_core.data.source_base import (  # noqa: F401 - re-exported: the sources' shared parts
    FRAME_CACHE_BYTES,
    CachedSource,
    FrameCache,
    check_index,
    resize_frame,
)
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


def natural_sort_key(name: str) -> list[Any]:
    """Sort key putting ``"2.jpg"`` before ``"10.jpg"`` (case-insensitive)."""
    parts = re.split(r"(\d+)", name.lower())
    return [int(part) if index % 2 else part for index, part in enumerate(parts)]


class FolderSource(CachedSource):
    """Frames from a folder of images, naturally sorted by file name.

    Non-image files and hidden files are ignored. All images must share frame 0's size; this is
    checked at open by reading only the image headers. Images are decoded on demand.
    """

    def __init__(self, folder: str | Path, fps: float = 24.0, cache_size: int = 8) -> None:
        super().__init__(Path(folder), fps, cache_size)
        self.name = self.path.name
        self.files: list[Path] = []
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

    def read(self, i: int) -> np.ndarray:
        index, cached = self._cached(i)
        if cached is not None:
            return cached
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
