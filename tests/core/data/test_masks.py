"""Tests for DAVIS palette masks: palette, read/write, colour mapping, folder loading."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from vos_core.data.masks import davis_palette, masks_from_folder, read_mask, write_mask
from vos_core.errors import VosInputError

LABELS = st.integers(0, 20)


def labels(shape: tuple[int, int] = (37, 53), n: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, shape, dtype=np.uint8)


def test_palette_values() -> None:
    palette = davis_palette()
    assert palette.shape == (256, 3) and palette.dtype == np.uint8
    expected = {0: (0, 0, 0), 1: (128, 0, 0), 2: (0, 128, 0), 3: (128, 128, 0), 4: (0, 0, 128)}
    for index, colour in expected.items():
        assert tuple(palette[index]) == colour
    assert tuple(palette[255]) == (224, 224, 192)
    assert len({tuple(row) for row in palette}) == 256
    palette[1] = 0  # a copy: the module's palette is unaffected
    assert tuple(davis_palette()[1]) == (128, 0, 0)


def test_palette_png_round_trip(tmp_path: Path) -> None:
    mask = labels(n=7)
    path = tmp_path / "00000.png"
    write_mask(path, mask)
    with Image.open(path) as image:
        assert image.mode == "P" and image.size == (53, 37)
        palette = np.array(image.getpalette()[: 256 * 3], np.uint8).reshape(-1, 3)
    np.testing.assert_array_equal(palette, davis_palette())
    loaded = read_mask(path, expected_hw=(37, 53))
    assert loaded.dtype == np.uint8
    np.testing.assert_array_equal(loaded, mask)
    write_mask(path, mask.astype(bool))
    np.testing.assert_array_equal(read_mask(path), mask > 0)


@settings(max_examples=25, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 40), st.integers(1, 40)), elements=LABELS))
def test_write_read_property(mask: np.ndarray) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mask.png"
        write_mask(path, mask)
        np.testing.assert_array_equal(read_mask(path), mask)


def test_rgb_with_palette_colours(tmp_path: Path) -> None:
    mask = labels(n=5)
    rgb = davis_palette()[mask]
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "rgb.png"), mask)
    rgba = np.dstack([rgb, np.full(mask.shape, 255, np.uint8)])
    rgba[0, 0] = (1, 2, 3, 0)  # fully transparent pixel: background whatever its colour
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    expected = mask.copy()
    expected[0, 0] = 0
    np.testing.assert_array_equal(read_mask(tmp_path / "rgba.png"), expected)


def test_rgb_with_unknown_colours(tmp_path: Path) -> None:
    rgb = davis_palette()[labels(n=3)]
    rgb[3, 3] = (1, 2, 3)
    rgb[4, 4] = (250, 0, 7)
    Image.fromarray(rgb).save(tmp_path / "bad.png")
    with pytest.raises(VosInputError) as info:
        read_mask(tmp_path / "bad.png")
    message = str(info.value)
    assert "bad.png" in message and "(1,2,3)" in message and "(250,0,7)" in message


def test_grayscale_masks(tmp_path: Path) -> None:
    binary = labels(n=2)
    Image.fromarray(binary * 255).save(tmp_path / "bin255.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "bin255.png"), binary)
    Image.fromarray(binary).save(tmp_path / "bin1.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "bin1.png"), binary)
    multi = labels(n=4)
    Image.fromarray(multi).save(tmp_path / "multi.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "multi.png"), multi)
    photo = np.arange(37 * 53, dtype=np.uint32).reshape(37, 53) % 256
    Image.fromarray(photo.astype(np.uint8)).save(tmp_path / "photo.png")
    with pytest.raises(VosInputError, match="photo.png"):
        read_mask(tmp_path / "photo.png")


def test_wrong_size_missing_and_corrupt(tmp_path: Path) -> None:
    write_mask(tmp_path / "m.png", labels())
    with pytest.raises(VosInputError) as info:
        read_mask(tmp_path / "m.png", expected_hw=(48, 64))
    assert "53×37" in str(info.value) and "64×48" in str(info.value)
    with pytest.raises(VosInputError, match="not found"):
        read_mask(tmp_path / "missing.png")
    (tmp_path / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(VosInputError, match="corrupt.png"):
        read_mask(tmp_path / "corrupt.png")


@pytest.mark.parametrize(
    "bad",
    [np.zeros((2, 2, 3), np.uint8), np.full((2, 2), 256), np.full((2, 2), -1), np.zeros((0, 3))],
)
def test_write_mask_rejects_bad_labels(tmp_path: Path, bad: np.ndarray) -> None:
    with pytest.raises(ValueError):
        write_mask(tmp_path / "x.png", bad)
    assert list(tmp_path.iterdir()) == []


def test_masks_from_folder(tmp_path: Path) -> None:
    first, later = labels(seed=1), labels(seed=2)
    write_mask(tmp_path / "00000.png", first)
    write_mask(tmp_path / "12.png", later)
    write_mask(tmp_path / "overlay.png", later)  # not named like a frame index: ignored
    (tmp_path / "readme.txt").write_text("x")
    masks = masks_from_folder(tmp_path, n_frames=20, expected_hw=(37, 53))
    assert sorted(masks) == [0, 12]
    np.testing.assert_array_equal(masks[12], later)
    single = masks_from_folder(tmp_path / "12.png", None, None)
    assert list(single) == [0]
    with pytest.raises(VosInputError, match="only 10 frames"):
        masks_from_folder(tmp_path, n_frames=10, expected_hw=None)
    with pytest.raises(VosInputError, match="53×37"):
        masks_from_folder(tmp_path, n_frames=None, expected_hw=(10, 10))
    write_mask(tmp_path / "00012.png", later)
    with pytest.raises(VosInputError, match="frame 12"):
        masks_from_folder(tmp_path, None, None)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(VosInputError, match="No masks"):
        masks_from_folder(empty, None, None)
    with pytest.raises(VosInputError, match="not found"):
        masks_from_folder(tmp_path / "missing", None, None)
