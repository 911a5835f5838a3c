"""CVAT for video 1.1 export and import: the XML CVAT writes, byte-identical round trips."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest

from tests.core.formats.conftest import SYNTHETIC_OBJECTS, labels_of, synthetic_maps
from vos_core.errors import VosInputError
from vos_core.formats import ExportObject, export_frames, format_writer, read_labels
from vos_core.formats.cvat_video import rle_decode, rle_encode


def export(out: Path, maps: list[np.ndarray], objects, name: str = "clip") -> Path:
    writer = format_writer("cvat-video", out, name, objects, maps[0].shape, len(maps))
    export_frames(writer, len(maps), labels_of(maps))
    return out / "annotations.xml"


def test_rle_starts_with_background_row_major() -> None:
    crop = np.array([[1, 1, 0], [0, 1, 1]], bool)
    assert rle_encode(crop) == [0, 2, 2, 2]
    assert rle_encode(~crop) == [2, 2, 2]
    np.testing.assert_array_equal(rle_decode([0, 2, 1, 2, 1], 3, 2), np.array([[1, 1, 0], [1, 1, 0]], bool))
    with pytest.raises(ValueError):
        rle_decode([1, 2], 3, 2)


def test_the_xml_is_what_cvat_writes(tmp_path: Path) -> None:
    maps = synthetic_maps(4)
    root = ElementTree.parse(export(tmp_path, maps, SYNTHETIC_OBJECTS)).getroot()
    assert root.findtext("version") == "1.1"
    task = root.find("meta/task")
    assert task.findtext("mode") == "interpolation" and task.findtext("size") == "4"
    assert task.findtext("stop_frame") == "3"
    assert [lab.findtext("name") for lab in task.iter("label")] == ["ring", "inner", "split"]
    assert {lab.findtext("type") for lab in task.iter("label")} == {"mask"}
    assert task.findtext("original_size/width") == "120" and task.findtext("original_size/height") == "90"
    tracks = root.findall("track")
    assert [t.get("id") for t in tracks] == [str(i) for i in range(len(tracks))]
    for track in tracks:
        shapes = track.findall("mask")
        frame = int(shapes[0].get("frame"))
        assert shapes[0].get("outside") == "0" and shapes[0].get("keyframe") == "1"
        if frame + 1 < 3:  # closed on the next frame unless that hops over the last one
            assert len(shapes) == 2 and shapes[1].get("outside") == "1"
        else:
            assert len(shapes) == 1
        object_id = int(track.get("group_id"))
        left, top = int(shapes[0].get("left")), int(shapes[0].get("top"))
        width, height = int(shapes[0].get("width")), int(shapes[0].get("height"))
        runs = [int(v) for v in shapes[0].get("rle").split(", ")]
        expected = maps[frame] == object_id
        ys, xs = np.nonzero(expected)
        assert (left, top, width, height) == (xs.min(), ys.min(), np.ptp(xs) + 1, np.ptp(ys) + 1)
        np.testing.assert_array_equal(
            rle_decode(runs, width, height), expected[top : top + height, left : left + width]
        )


def test_synthetic_and_dev_round_trips_are_identical(dev_masks, tmp_path: Path) -> None:
    cases = {"synthetic": (synthetic_maps(), SYNTHETIC_OBJECTS)}
    for seq, maps in dev_masks.items():
        ids = sorted({int(v) for labels in maps for v in np.unique(labels) if v})
        cases[seq] = (maps, [ExportObject(i, seq) for i in ids])
    for name, (maps, objects) in cases.items():
        path = export(tmp_path / name, maps, objects, name=name)
        imported = read_labels("cvat-video", path, len(maps), maps[0].shape)
        assert imported.notes == []
        for index, labels in enumerate(maps):
            got = imported.masks.get(index, np.zeros_like(labels))
            assert got.tobytes() == labels.tobytes(), (name, index)


def test_a_broken_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "annotations.xml"
    bad.write_text("<annotations><track id='0' label='x'><mask frame='0' rle='1, 2' left='0' top='0' "
                   "width='5' height='5' outside='0' keyframe='1'/></track></annotations>")  # fmt: skip
    with pytest.raises(VosInputError, match="not a readable CVAT"):
        read_labels("cvat-video", tmp_path, 3, (10, 10))
