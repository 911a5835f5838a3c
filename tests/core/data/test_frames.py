"""Tests for FolderSource, natural sorting and resize_frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vos_core.data.frames import (
    FolderSource,
    FrameSource,
    natural_sort_key,
    resize_frame,
)
from vos_core.errors import VosInputError


def solid(value: int, size_hw: tuple[int, int] = (30, 40)) -> np.ndarray:
    """``H×W×3`` RGB image with red channel = ``value``, green 10, blue 200."""
    image = np.zeros((*size_hw, 3), np.uint8)
    image[..., 0], image[..., 1], image[..., 2] = value, 10, 200
    return image


def save(path: Path, rgb: np.ndarray) -> Path:
    Image.fromarray(rgb).save(path)
    return path


def test_natural_sort_and_ignored_files(tmp_path: Path) -> None:
    for value, name in [(1, "1.png"), (2, "2.PNG"), (10, "10.png"), (3, "frame3.bmp")]:
        save(tmp_path / name, solid(value))
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "._2.png").write_bytes(b"macOS resource fork")
    (tmp_path / "sub.png").mkdir()
    with FolderSource(tmp_path) as source:
        assert isinstance(source, FrameSource)
        assert [file.name for file in source.files] == ["1.png", "2.PNG", "10.png", "frame3.bmp"]
        assert len(source) == 4 and source.size == (30, 40) and source.fps > 0
        assert source.name == tmp_path.name
        red = [int(source.read(i)[0, 0, 0]) for i in range(4)]
        assert red == [1, 2, 10, 3]
        np.testing.assert_array_equal(source.read(-1), solid(3))
        with pytest.raises(IndexError):
            source.read(4)


def test_natural_sort_key() -> None:
    names = ["img10.jpg", "img2.jpg", "IMG1.jpg", "a.jpg", "img2b.jpg"]
    assert sorted(names, key=natural_sort_key) == [
        "a.jpg",
        "IMG1.jpg",
        "img2.jpg",
        "img2b.jpg",
        "img10.jpg",
    ]


def test_jpeg_and_rgba_are_read_as_rgb(tmp_path: Path) -> None:
    save(tmp_path / "00000.jpg", solid(250))
    Image.fromarray(np.dstack([solid(100), np.full((30, 40), 255, np.uint8)])).save(
        tmp_path / "00001.png"
    )
    with FolderSource(tmp_path) as source:
        first, second = source.read(0), source.read(1)
    assert first.shape == (30, 40, 3) and first.dtype == np.uint8
    assert abs(int(first[5, 5, 0]) - 250) < 6 and abs(int(first[5, 5, 2]) - 200) < 6
    np.testing.assert_array_equal(second, solid(100))


def test_empty_folder_and_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(VosInputError, match="No images"):
        FolderSource(tmp_path)
    (tmp_path / "readme.md").write_text("hi")
    with pytest.raises(VosInputError, match="No images"):
        FolderSource(tmp_path)
    with pytest.raises(VosInputError, match="not found"):
        FolderSource(tmp_path / "missing")


def test_mixed_sizes_name_first_offender(tmp_path: Path) -> None:
    save(tmp_path / "1.png", solid(0))
    save(tmp_path / "2.png", solid(0))
    save(tmp_path / "3.png", solid(0, (20, 40)))
    save(tmp_path / "4.png", solid(0, (10, 10)))
    with pytest.raises(VosInputError) as info:
        FolderSource(tmp_path)
    message = str(info.value)
    assert "3.png" in message and "4.png" not in message
    assert "40×20" in message and "40×30" in message


def test_unreadable_images(tmp_path: Path) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    save(tmp_path / "0.jpg", noise)
    good = (tmp_path / "0.jpg").read_bytes()
    (tmp_path / "1.jpg").write_bytes(good[: len(good) * 2 // 3])  # valid header, truncated data
    with FolderSource(tmp_path) as source:
        assert source.read(0).shape == (64, 64, 3)
        with pytest.raises(VosInputError, match="1.jpg"):
            source.read(1)
        assert source.bad_frames == [1]
    (tmp_path / "2.jpg").write_bytes(b"garbage, not a jpeg")
    with pytest.raises(VosInputError, match="2.jpg"):
        FolderSource(tmp_path)


def test_resize_frame() -> None:
    image = np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    small = resize_frame(image, (20, 30))
    large = resize_frame(image, (80, 120))
    assert small.shape == (20, 30, 3) and large.shape == (80, 120, 3)
    assert small.dtype == large.dtype == np.uint8
    assert resize_frame(image, (40, 60)) is image
    flat = np.full((40, 60, 3), 77, np.uint8)
    assert np.all(resize_frame(flat, (13, 17)) == 77)
    assert resize_frame(image[..., 0], (10, 10)).shape == (10, 10)
    with pytest.raises(ValueError):
        resize_frame(image, (0, 10))
