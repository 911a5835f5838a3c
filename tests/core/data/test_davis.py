"""Tests for the DAVIS layout reader on a synthetic layout and (if present) the real dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vos_core.data.davis import DavisDataset, parse_sequence_arg
from vos_core.data.masks import write_mask
from vos_core.errors import VosInputError

SIZE_HW = (24, 32)


def make_layout(root: Path, sequences: dict[str, int], annotated: int | None = None) -> Path:
    """DAVIS-like tree: ``n`` frames per sequence, masks for all (or the first ``annotated``)."""
    for seq, n in sequences.items():
        images = root / "JPEGImages" / "480p" / seq
        annotations = root / "Annotations" / "480p" / seq
        images.mkdir(parents=True)
        annotations.mkdir(parents=True)
        for i in range(n):
            Image.fromarray(np.full((*SIZE_HW, 3), i * 10, np.uint8)).save(images / f"{i:05d}.jpg")
            if annotated is None or i < annotated:
                mask = np.zeros(SIZE_HW, np.uint8)
                mask[i : i + 5, 2:9] = 1
                write_mask(annotations / f"{i:05d}.png", mask)
    return root


def test_synthetic_layout(tmp_path: Path) -> None:
    dataset = DavisDataset(make_layout(tmp_path, {"walk": 4, "car": 3}))
    (tmp_path / "JPEGImages" / "480p" / "notes.txt").write_text("ignored")
    assert dataset.sequences() == ["car", "walk"]
    with dataset.frames("walk") as frames:
        assert len(frames) == 4 and frames.size == SIZE_HW
    names = [p.name for p in dataset.annotation_paths("car")]
    assert names == ["00000.png", "00001.png", "00002.png"]
    first = dataset.first_mask("walk")
    assert first.shape == SIZE_HW and set(np.unique(first)) == {0, 1}
    masks = list(dataset.masks("walk"))
    assert len(masks) == 4 and int(masks[3][3:8, 2:9].min()) == 1
    with pytest.raises(VosInputError, match="Unknown sequence"):
        dataset.frames("boat")
    with pytest.raises(VosInputError, match="Unknown sequence"):
        dataset.first_mask("../car")


def test_first_frame_only_annotations(tmp_path: Path) -> None:
    dataset = DavisDataset(make_layout(tmp_path, {"dog": 5}, annotated=1))
    assert len(dataset.annotation_paths("dog")) == 1
    assert dataset.first_mask("dog").shape == SIZE_HW


def test_invalid_root(tmp_path: Path) -> None:
    with pytest.raises(VosInputError, match="not a DAVIS dataset"):
        DavisDataset(tmp_path)
    (tmp_path / "JPEGImages" / "480p").mkdir(parents=True)
    with pytest.raises(VosInputError, match="Annotations"):
        DavisDataset(tmp_path)


def test_parse_sequence_arg(tmp_path: Path) -> None:
    dataset = DavisDataset(make_layout(tmp_path / "davis", {"a": 1, "b": 1, "c": 1}))
    assert parse_sequence_arg("c, a,c", dataset) == ["c", "a"]
    listing = tmp_path / "val.txt"
    davis2016_line = "/JPEGImages/480p/c/00000.jpg /Annotations/480p/c/00000.png"
    listing.write_text(f"b\n\n# comment\na\n{davis2016_line}\n")
    assert parse_sequence_arg(str(listing), dataset) == ["b", "a", "c"]
    with pytest.raises(VosInputError) as info:
        parse_sequence_arg("a,zebra,yak", dataset)
    assert "zebra, yak (not in" in str(info.value)
    listing.write_text("a\nzebra\n")
    with pytest.raises(VosInputError, match="val.txt: zebra"):
        parse_sequence_arg(str(listing), dataset)
    with pytest.raises(VosInputError, match="No sequence"):
        parse_sequence_arg(" , ", dataset)


def test_real_davis_first_mask(shared_data_dir: Path) -> None:
    root = shared_data_dir / "davis2016-train"
    if not (root / "JPEGImages" / "480p" / "bmx-bumps").is_dir():
        pytest.skip("DAVIS 2016 bmx-bumps not available")
    dataset = DavisDataset(root)
    mask = dataset.first_mask("bmx-bumps")
    assert mask.shape == (480, 854) and mask.dtype == np.uint8
    assert set(np.unique(mask).tolist()) == {0, 1}
    with dataset.frames("bmx-bumps") as frames:
        assert frames.size == (480, 854)
        assert frames.read(0).shape == (480, 854, 3)
    train = root / "ImageSets" / "train.txt"
    if train.is_file():
        assert "bmx-bumps" in parse_sequence_arg(str(train), dataset)
