"""DAVIS-style label masks: indexed-palette PNGs where pixel value = object id (0 = background)."""

from __future__ import annotations

import functools
import io
from pathlib import Path

import numpy as np
from PIL import Image

from vos_core.data.atomic import atomic_write_bytes
from vos_core.data.frames import natural_sort_key
from vos_core.errors import VosInputError

__all__ = [
    "MASK_EXTENSIONS", "LabelMapError", "check_label_map", "davis_palette", "mask_file_name",
    "masks_from_folder", "read_mask", "write_mask",
]

MASK_EXTENSIONS = frozenset({".png", ".bmp", ".tif", ".tiff", ".gif", ".webp"})
# Grayscale images with at most this many distinct values are taken as label maps.
MAX_GRAY_LABELS = 64
_READ_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


class LabelMapError(VosInputError, ValueError):
    """A label map that is not a non-empty ``H×W`` array of integers 0..255 (or not the video's
    size). Both a :class:`VosInputError` (user input) and a ``ValueError`` (a caller's bug)."""


def check_label_map(labels: np.ndarray, hw: tuple[int, int] | None = None) -> np.ndarray:
    """The one label-map check: ``labels`` as an ``H×W`` uint8 array (bool and wider integer
    types converted); ``hw`` = (H, W) the video's size when known. Raises :class:`LabelMapError`."""
    array = np.asarray(labels)
    if array.ndim != 2 or array.size == 0:
        raise LabelMapError(f"a mask must be a non-empty 2-D label map, got shape {array.shape}")
    if hw is not None and array.shape != tuple(hw):
        raise LabelMapError(
            f"mask size {array.shape[1]}x{array.shape[0]} does not match the video ({hw[1]}x{hw[0]})"
        )
    if array.dtype == np.uint8:
        return array
    if array.dtype == bool:
        return array.astype(np.uint8)
    if array.dtype.kind not in "ui" or array.min() < 0 or array.max() > 255:
        raise LabelMapError(
            f"mask values must be integers 0..255, got {array.dtype} {array.min()}..{array.max()}"
        )
    return array.astype(np.uint8)


def mask_file_name(index: int, suffix: str = ".png") -> str:
    """The file name of frame ``index``'s mask (or image, with ``suffix=".jpg"``): ``00012.png``.
    The one home of the DAVIS ``%05d`` naming that :func:`masks_from_folder` reads back."""
    return f"{int(index):05d}{suffix}"


@functools.cache
def _palette() -> np.ndarray:
    palette = np.zeros((256, 3), dtype=np.uint8)
    for index in range(256):
        code, red, green, blue = index, 0, 0, 0
        for bit in range(8):
            red |= ((code >> 0) & 1) << (7 - bit)
            green |= ((code >> 1) & 1) << (7 - bit)
            blue |= ((code >> 2) & 1) << (7 - bit)
            code >>= 3
        palette[index] = (red, green, blue)
    palette.flags.writeable = False
    return palette


def davis_palette() -> np.ndarray:
    """The DAVIS / PASCAL VOC colour map, ``256×3`` uint8 (1 = (128,0,0), 2 = (0,128,0), ...)."""
    return _palette().copy()


@functools.cache
def _colour_lookup() -> dict[int, int]:
    packed = _pack_rgb(_palette())
    return {int(colour): index for index, colour in enumerate(packed)}


def _pack_rgb(rgb: np.ndarray) -> np.ndarray:
    """``...×3`` uint8 -> ``...`` int32 ``0xRRGGBB``."""
    rgb = rgb.astype(np.int32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def _labels_from_rgb(rgb: np.ndarray, path: Path) -> np.ndarray:
    """``H×W×3`` colours -> ``H×W`` palette indices; unknown colours raise ``VosInputError``."""
    colours, inverse = np.unique(_pack_rgb(rgb), return_inverse=True)
    lookup = _colour_lookup()
    unknown = [int(colour) for colour in colours if int(colour) not in lookup]
    if unknown:
        listed = ", ".join(f"({c >> 16},{(c >> 8) & 255},{c & 255})" for c in unknown[:6])
        more = f" and {len(unknown) - 6} more" if len(unknown) > 6 else ""
        raise VosInputError(
            f"Mask {path} has {len(unknown)} colour(s) not in the DAVIS palette: {listed}{more}"
        )
    indices = np.array([lookup[int(colour)] for colour in colours], dtype=np.uint8)
    return indices[inverse.reshape(rgb.shape[:2])]


def _labels_from_gray(gray: np.ndarray, path: Path) -> np.ndarray:
    """Grayscale ``H×W`` -> labels: 0/255 (or 0/65535) binary masks -> 0/1, few small ints as-is."""
    values = np.unique(gray)
    value_set = {float(value) for value in values}
    if value_set <= {0.0, 255.0} or value_set <= {0.0, 1.0} or value_set <= {0.0, 65535.0}:
        return (gray > 0).astype(np.uint8)
    top = float(values[-1])
    small_ints = values[0] >= 0 and top < 256 and bool(np.all(values == np.round(values)))
    if small_ints and len(values) <= MAX_GRAY_LABELS:
        return gray.astype(np.uint8)
    integral = values[0] >= 0 and bool(np.all(values == np.round(values)))
    if integral and top >= 256 and len(values) <= MAX_GRAY_LABELS:
        raise VosInputError(
            f"Mask {path} has label values up to {top:g}, but at most 255 objects fit in a mask "
            f"(labels 1..255)"
        )
    raise VosInputError(
        f"Mask {path} is a grayscale image with {len(values)} distinct values (max {top:g}); "
        f"expected a label map (0 = background, 1..N = objects) or a 0/255 binary mask"
    )


def _decode(image: Image.Image, path: Path) -> np.ndarray:
    mode = image.mode
    if mode in ("P", "1"):
        return np.array(image, dtype=np.uint8)
    if mode in ("L", "I", "I;16", "I;16B", "I;16L", "F", "LA"):
        gray = np.array(image.getchannel(0) if mode == "LA" else image)
        return _labels_from_gray(gray, path)
    if mode in ("RGB", "RGBA", "PA"):
        rgba = np.array(image.convert("RGBA"))
        rgba[rgba[..., 3] == 0] = 0  # fully transparent pixels are background
        return _labels_from_rgb(rgba[..., :3], path)
    raise VosInputError(f"Mask {path} has unsupported image mode {mode!r}")


def read_mask(path: str | Path, expected_hw: tuple[int, int] | None = None) -> np.ndarray:
    """Read a mask image as an ``H×W`` uint8 label map.

    Palette PNGs give their indices; grayscale 0/255 (or 0/1) gives 0/1; grayscale with few small
    values gives the values; RGB(A) colours are mapped to their DAVIS palette index (transparent
    pixels -> 0). Raises ``VosInputError`` when the file is missing/unreadable, has colours outside
    the palette, or its size differs from ``expected_hw`` = ``(H, W)``.
    """
    mask_path = Path(path)
    if not mask_path.is_file():
        raise VosInputError(f"Mask file not found: {mask_path}")
    try:
        with Image.open(mask_path) as image:
            image.load()
            labels = _decode(image, mask_path)
    except _READ_ERRORS as error:
        raise VosInputError(f"Cannot read mask {mask_path}: {error}") from error
    if expected_hw is not None and labels.shape != tuple(expected_hw):
        height, width = labels.shape
        raise VosInputError(
            f"Mask {mask_path} is {width}×{height} but the frames are "
            f"{expected_hw[1]}×{expected_hw[0]} (W×H)"
        )
    return labels


def write_mask(path: str | Path, labels: np.ndarray) -> None:
    """Atomically write an ``H×W`` label map (values 0..255) as a DAVIS-palette indexed PNG."""
    array = check_label_map(labels)
    image = Image.fromarray(np.ascontiguousarray(array, dtype=np.uint8), mode="P")
    image.putpalette(_palette().tobytes())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())


def masks_from_folder(
    folder: str | Path,
    n_frames: int | None = None,
    expected_hw: tuple[int, int] | None = None,
) -> dict[int, np.ndarray]:
    """Masks keyed by frame index.

    ``folder`` may be a folder whose mask images are named by frame index (``00012.png`` or
    ``12.png`` -> frame 12; other files are ignored), or a single mask file, which is frame 0.
    Raises ``VosInputError`` if nothing usable is found, two files name the same frame, or an
    index is ``>= n_frames``. Every mask is checked against ``expected_hw`` = ``(H, W)``.
    """
    source = Path(folder)
    if source.is_file():
        return {0: read_mask(source, expected_hw)}
    if not source.is_dir():
        raise VosInputError(f"Mask file or folder not found: {source}")
    found: dict[int, Path] = {}
    entries = sorted(source.iterdir(), key=lambda entry: natural_sort_key(entry.name))
    for entry in entries:
        if entry.suffix.lower() not in MASK_EXTENSIONS or not entry.stem.isdigit():
            continue
        index = int(entry.stem)
        if index in found:
            raise VosInputError(
                f"Masks {found[index].name} and {entry.name} in {source} are both for frame {index}"
            )
        if n_frames is not None and index >= n_frames:
            raise VosInputError(
                f"Mask {entry} is for frame {index} but the video has only {n_frames} frames"
            )
        found[index] = entry
    if not found:
        raise VosInputError(
            f"No masks found in {source}: expected images named by frame index, e.g. 00000.png"
        )
    return {index: read_mask(found[index], expected_hw) for index in sorted(found)}
