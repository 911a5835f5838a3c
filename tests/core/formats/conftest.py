"""Label maps for the format round trips: the dev sequences' masks (skipped when the shared data
is absent) and a synthetic multi-object video whose objects touch, nest and split into parts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vos_core.data.davis import DEV_SEQUENCES, DavisDataset
from vos_core.formats import ExportObject


def synthetic_maps(n: int = 6, hw: tuple[int, int] = (90, 120)) -> list[np.ndarray]:
    """Three objects that would overlap as instances: 1 is a ring with 2 inside its hole, 2 spills
    over 1's rim (drawn on top, so 1 loses those pixels), 3 is split into two parts and touches 1."""
    maps = []
    for i in range(n):
        labels = np.zeros(hw, np.uint8)
        labels[10 + i : 60 + i, 10:60] = 1
        labels[25 + i : 45 + i, 25:45] = 0  # a hole
        labels[28 + i : 42 + i, 28:50] = 2  # inside the hole and over the ring
        labels[5:20, 60 + i : 80 + i] = 3  # touches object 1's corner region
        labels[70:85, 90 - i : 110 - i] = 3  # a second part
        if i % 3 == 2:
            labels[labels == 2] = 0  # object 2 absent from some frames
        maps.append(labels)
    return maps


SYNTHETIC_OBJECTS = [ExportObject(1, "ring"), ExportObject(2, "inner"), ExportObject(3, "split")]


@pytest.fixture(scope="session")
def dev_masks(shared_data_dir: Path) -> dict[str, list[np.ndarray]]:
    """Every annotation of the five dev sequences, by sequence (label maps)."""
    root = shared_data_dir / "davis2016-train"
    if not root.is_dir():
        pytest.skip(f"no DAVIS data at {root}")
    dataset = DavisDataset(root)
    return {seq: list(dataset.masks(seq)) for seq in DEV_SEQUENCES}


def labels_of(maps: list[np.ndarray]):
    return lambda index: maps[index]
