"""The DAVIS format module: the writer, the reader it round-trips with, the one label-map check."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vos_core.data.davis import DavisDataset, DavisWriter, read_annotations
from vos_core.data.masks import LabelMapError, check_label_map, mask_file_name
from vos_core.errors import VosInputError


def test_written_sequence_reads_back_as_a_davis_dataset(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    labels = [np.zeros((24, 32), np.uint8) for _ in range(3)]
    for i, lab in enumerate(labels):
        lab[4 + i : 12 + i, 5:15] = 1
        lab[14:20, 20:30] = 2
    writer = DavisWriter(tmp_path, "my seq/1", objects={2: "2_car"})
    for i, lab in enumerate(labels):
        writer.write(i, rng.integers(0, 255, (24, 32, 3), dtype=np.uint8), lab)
    writer.finish()
    writer.finish()  # the lists name a sequence once
    assert writer.name == "my_seq_1"
    dataset = DavisDataset(tmp_path)
    assert dataset.sequences() == ["my_seq_1"]
    assert all(np.array_equal(a, b) for a, b in zip(dataset.masks("my_seq_1"), labels, strict=True))
    assert sorted(p.name for p in (tmp_path / "objects" / "2_car").iterdir()) == [
        mask_file_name(i) for i in range(3)
    ]
    for folder in ("480p", "2017"):
        assert (tmp_path / "ImageSets" / folder / "val.txt").read_text() == "my_seq_1\n"
    again = read_annotations(tmp_path, 3, (24, 32))
    assert sorted(again) == [0, 1, 2] and np.array_equal(again[1], labels[1])


def test_a_folder_that_cannot_be_made_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(VosInputError, match="Cannot create"):
        DavisWriter(tmp_path / "file", "seq")


def test_mask_file_name_is_the_davis_naming() -> None:
    assert mask_file_name(12) == "00012.png" and mask_file_name(3, ".jpg") == "00003.jpg"


def test_label_maps_are_checked_in_one_place() -> None:
    assert check_label_map(np.ones((2, 3), bool)).dtype == np.uint8
    assert check_label_map(np.full((2, 3), 7, np.int64), (2, 3)).max() == 7
    for bad, hw in (
        (np.zeros((2, 3, 3), np.uint8), None),
        (np.zeros((0, 3), np.uint8), None),
        (np.full((2, 3), 256), None),
        (np.full((2, 3), 0.5), None),
        (np.zeros((2, 3), np.uint8), (3, 2)),
    ):
        with pytest.raises(LabelMapError) as info:
            check_label_map(bad, hw)
        assert isinstance(info.value, VosInputError) and isinstance(info.value, ValueError)
