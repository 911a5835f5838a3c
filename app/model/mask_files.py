"""Mask files of a project: DAVIS-palette PNGs that also record who made them (user / propagated).

The source is stored in a PNG text chunk, so a mask written just before a crash (before
``project.json`` was updated) can still be recovered with its source.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, PngImagePlugin

from vos_core import atomic_write_bytes, davis_palette, read_mask

MaskSource = Literal["user", "propagated"]
SOURCES: tuple[MaskSource, ...] = ("user", "propagated")
SOURCE_KEY = "vos-source"
MASK_NAME = re.compile(r"^(\d{5,})\.png$")
_PALETTE_BYTES = davis_palette().tobytes()


def check_source(source: str) -> MaskSource:
    if source not in SOURCES:
        raise ValueError(f"mask source must be 'user' or 'propagated', got {source!r}")
    return source  # type: ignore[return-value]


def check_labels(labels: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Validate an ``H×W`` label map of the video's size; returns it as uint8."""
    array = np.asarray(labels)
    if array.shape != tuple(hw):
        raise ValueError(f"mask shape {array.shape} does not match the video size {tuple(hw)}")
    if array.dtype == np.uint8:
        return array
    if array.dtype == bool:
        return array.astype(np.uint8)
    if array.dtype.kind not in "ui" or (array.size and (array.min() < 0 or array.max() > 255)):
        raise ValueError("mask values must be integers 0..255")
    return array.astype(np.uint8)


def encode_mask_png(labels: np.ndarray, source: MaskSource) -> bytes:
    """An indexed PNG (DAVIS palette) of ``labels`` with the source in a text chunk."""
    image = Image.fromarray(np.ascontiguousarray(labels, dtype=np.uint8), mode="P")
    image.putpalette(_PALETTE_BYTES)
    info = PngImagePlugin.PngInfo()
    info.add_text(SOURCE_KEY, check_source(source))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info, compress_level=1)
    return buffer.getvalue()


def write_mask_file(path: Path, labels: np.ndarray, source: MaskSource) -> None:
    """Atomic write (temp file + fsync + rename); raises ``VosInputError`` on I/O failure."""
    atomic_write_bytes(path, encode_mask_png(labels, source))


def read_mask_file(path: Path, hw: tuple[int, int]) -> np.ndarray:
    """Decode a mask; raises ``VosInputError`` when it is missing, corrupt or of another size."""
    return read_mask(path, expected_hw=hw)


def inspect_mask_file(path: Path, hw: tuple[int, int]) -> tuple[MaskSource | None, str | None]:
    """Cheap header check without decoding the pixels -> ``(source or None, problem or None)``."""
    try:
        with Image.open(path) as image:
            if image.format != "PNG":
                return None, f"{path.name} is not a PNG file"
            width, height = image.size
            source = image.info.get(SOURCE_KEY)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        return None, f"cannot read {path.name}: {error}"
    if (height, width) != tuple(hw):
        return None, f"{path.name} is {width}×{height} but the video is {hw[1]}×{hw[0]} (W×H)"
    return (source if source in SOURCES else None), None
