"""COCO export and import: byte-identical round trips, pycocotools' own loader, streaming, atomicity."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools.coco import COCO

from tests.core.formats.conftest import SYNTHETIC_OBJECTS, labels_of, synthetic_maps
from vos_core.errors import VosInputError
from vos_core.formats import ExportObject, export_frames, format_writer, read_labels
from vos_core.formats.coco import read_coco


def export(out: Path, maps: list[np.ndarray], objects, name: str = "clip", **kwargs) -> Path:
    writer = format_writer("coco", out, name, objects, maps[0].shape, len(maps))
    export_frames(writer, len(maps), labels_of(maps), **kwargs)
    return out / "annotations" / f"instances_{name}.json"


def test_synthetic_round_trip_is_identical_and_pycocotools_reads_it(tmp_path: Path) -> None:
    maps = synthetic_maps()
    path = export(tmp_path, maps, SYNTHETIC_OBJECTS)
    imported = read_coco(path, len(maps), maps[0].shape)
    assert imported.notes == []
    assert sorted(imported.masks) == list(range(len(maps)))
    for index, labels in enumerate(maps):
        np.testing.assert_array_equal(imported.masks[index], labels)
    assert {(o.id, o.name) for o in imported.objects} == {(o.id, o.name) for o in SYNTHETIC_OBJECTS}

    coco = COCO(str(path))
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["ring", "inner", "split"]
    assert len(coco.getImgIds()) == len(maps)
    for index, labels in enumerate(maps):
        annotations = coco.loadAnns(coco.getAnnIds(imgIds=[index + 1]))
        present = sorted(int(v) for v in np.unique(labels) if v)
        assert sorted(a["attributes"]["track_id"] for a in annotations) == present
        for annotation in annotations:
            expected = labels == annotation["attributes"]["track_id"]
            np.testing.assert_array_equal(coco.annToMask(annotation).astype(bool), expected)
            assert annotation["area"] == int(expected.sum())
            ys, xs = np.nonzero(expected)
            assert annotation["bbox"] == [
                xs.min(),
                ys.min(),
                xs.max() - xs.min() + 1,
                ys.max() - ys.min() + 1,
            ]


def test_dev_masks_round_trip_identically(dev_masks, tmp_path: Path) -> None:
    for seq, maps in dev_masks.items():
        ids = sorted({int(v) for labels in maps for v in np.unique(labels) if v})
        path = export(tmp_path / seq, maps, [ExportObject(i, seq) for i in ids], name=seq)
        imported = read_labels("coco", path, len(maps), maps[0].shape)
        for index, labels in enumerate(maps):
            got = imported.masks.get(index, np.zeros_like(labels))
            assert got.tobytes() == labels.tobytes(), (seq, index)


def test_objects_sharing_a_name_share_a_category_and_keep_their_ids(tmp_path: Path) -> None:
    maps = synthetic_maps(3)
    objects = [ExportObject(1, "car"), ExportObject(2, "car"), ExportObject(3, "person")]
    path = export(tmp_path, maps, objects)
    data = json.loads(path.read_text())
    assert [c["name"] for c in data["categories"]] == ["car", "person"]
    imported = read_coco(path, len(maps), maps[0].shape)
    for index, labels in enumerate(maps):
        np.testing.assert_array_equal(imported.masks[index], labels)


def test_overlapping_instances_resolve_deterministically_and_say_so(tmp_path: Path) -> None:
    from pycocotools import mask as coco_mask

    hw = (40, 50)
    big = np.zeros(hw, bool)
    big[5:35, 5:45] = True
    small = np.zeros(hw, bool)
    small[10:20, 10:20] = True

    def rle(mask: np.ndarray) -> dict:
        encoded = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
        return {"size": list(hw), "counts": encoded["counts"].decode()}

    data = {
        "images": [{"id": 7, "file_name": "frame_3.jpg", "width": 50, "height": 40}],
        "categories": [{"id": 1, "name": "table"}, {"id": 2, "name": "cup"}],
        "annotations": [  # the big one comes last: it must not swallow the small one
            {"id": 1, "image_id": 7, "category_id": 2, "segmentation": rle(small), "iscrowd": 0},
            {"id": 2, "image_id": 7, "category_id": 1, "segmentation": rle(big), "iscrowd": 0},
        ],
    }
    path = tmp_path / "overlap.json"
    path.write_text(json.dumps(data))
    first = read_coco(path, 5, hw)
    again = read_coco(path, 5, hw)
    assert list(first.masks) == [3]  # the frame from the file name
    labels = first.masks[3]
    np.testing.assert_array_equal(labels, again.masks[3])
    cup = next(o.id for o in first.objects if o.name == "cup")
    table = next(o.id for o in first.objects if o.name == "table")
    np.testing.assert_array_equal(labels == cup, small)
    np.testing.assert_array_equal(labels == table, big & ~small)
    assert any("100 pixels in 1 frames belonged to several objects" in note for note in first.notes)


def test_cancelled_export_leaves_no_json_and_progress_counts_frames(tmp_path: Path) -> None:
    maps = synthetic_maps(6)
    seen: list[tuple[int, int]] = []

    def cancel_after_three() -> None:
        if len(seen) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        export(tmp_path, maps, SYNTHETIC_OBJECTS, progress=lambda d, t: seen.append((d, t)),
               check_cancelled=cancel_after_three)  # fmt: skip
    assert seen == [(1, 6), (2, 6), (3, 6)]
    assert [p.name for p in (tmp_path / "annotations").iterdir()] == []  # not even a temp file


def test_wrong_size_and_garbage_are_clear_errors(tmp_path: Path) -> None:
    maps = synthetic_maps(2)
    path = export(tmp_path, maps, SYNTHETIC_OBJECTS)
    with pytest.raises(VosInputError, match="the video is"):
        read_coco(path, 2, (10, 10))
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    with pytest.raises(VosInputError, match="not a COCO"):
        read_coco(garbage, 2, maps[0].shape)
