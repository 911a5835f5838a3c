"""Overlay rendering (colour fill of object masks) and an atomic MP4 writer built on PyAV."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vos_core import VosInputError, atomic_path, davis_palette

CODECS = ("libx264", "mpeg4")


def colour_lut(colours: Mapping[int, tuple[int, int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """-> (256×3 colours, 256 bool "drawn") for label values; unlisted ids use the DAVIS palette
    and are drawn unless ``colours`` lists ids at all, in which case only those are drawn."""
    lut = davis_palette().astype(np.float32)
    drawn = np.ones(256, dtype=bool) if not colours else np.zeros(256, dtype=bool)
    drawn[0] = False
    for object_id, rgb in colours.items():
        lut[object_id] = rgb
        drawn[object_id] = True
    return lut, drawn


def blend(
    rgb: np.ndarray, labels: np.ndarray, lut: np.ndarray, drawn: np.ndarray, alpha: float = 0.5
) -> np.ndarray:
    """Fill every drawn object with its colour at ``alpha`` opacity."""
    where = drawn[labels]
    out = rgb.copy()
    if where.any():
        mixed = rgb[where].astype(np.float32) * (1 - alpha) + lut[labels[where]] * alpha
        out[where] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
    return out


def pick_codec() -> str:
    for codec in CODECS:
        if codec in av.codecs_available:
            return codec
    raise VosInputError("No H.264 or MPEG-4 video encoder is available to write the overlay video")


class OverlayVideoWriter:
    """Encodes RGB frames to an MP4 that appears at ``path`` only when complete (atomic).

    Use as a context manager; frames of odd size are padded to even (yuv420p needs it).
    An exception inside the ``with`` block discards the partial file.
    """

    def __init__(self, path: Path, fps: float, size_hw: tuple[int, int]) -> None:
        self.path = Path(path)
        self.fps = fps if fps > 0 else 25.0
        self.size_hw = size_hw
        self._stack = contextlib.ExitStack()
        self._container: av.container.OutputContainer | None = None
        self._stream: av.video.stream.VideoStream | None = None

    def __enter__(self) -> OverlayVideoWriter:
        tmp = self._stack.enter_context(atomic_path(self.path))
        try:
            self._open(tmp)
        except BaseException as error:
            self._stack.__exit__(type(error), error, error.__traceback__)
            raise
        return self

    def _open(self, tmp: Path) -> None:
        codec = pick_codec()
        height, width = (v + (v % 2) for v in self.size_hw)
        try:
            self._container = av.open(str(tmp), mode="w", format="mp4")
            rate = Fraction(self.fps).limit_denominator(1001)
            stream = self._container.add_stream(codec, rate=rate)
            stream.width, stream.height = width, height
            stream.pix_fmt = "yuv420p"
            if codec == "libx264":
                stream.options = {"crf": "20", "preset": "veryfast"}
            else:
                stream.bit_rate = max(400_000, width * height * 4)
            self._stream = stream
        except (av.FFmpegError, OSError, ValueError) as error:
            raise VosInputError(f"Cannot write the overlay video {self.path}: {error}") from error

    def write(self, rgb: np.ndarray) -> None:
        assert self._container is not None and self._stream is not None
        height, width = self._stream.height, self._stream.width
        if rgb.shape[:2] != (height, width):
            rgb = np.pad(rgb, ((0, height - rgb.shape[0]), (0, width - rgb.shape[1]), (0, 0)), mode="edge")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        try:
            self._container.mux(self._stream.encode(frame))
        except (av.FFmpegError, OSError) as error:
            raise VosInputError(f"Cannot write the overlay video {self.path}: {error}") from error

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        container, self._container = self._container, None
        if container is not None:
            try:
                if exc is None and self._stream is not None:
                    container.mux(self._stream.encode())
                container.close()
            except (av.FFmpegError, OSError) as error:
                if exc is None:  # the file is incomplete: discard it and report
                    wrapped = VosInputError(f"Cannot write the overlay video {self.path}: {error}")
                    self._stack.__exit__(VosInputError, wrapped, None)
                    raise wrapped from error
        self._stack.__exit__(exc_type, exc, tb)  # type: ignore[arg-type]
