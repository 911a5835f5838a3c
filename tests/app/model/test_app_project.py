"""Project folder: create, save, reopen, validation, corrupt and orphan masks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image
from synthetic_video import SyntheticVideo

from app.model.mask_files import inspect_mask_file
from app.model.object_info import ObjectInfo
from app.model.project import SCHEMA_VERSION, Project, default_project_dir
from vos_core.errors import ProjectError


def test_create_save_reopen_round_trip(video: SyntheticVideo) -> None:
    project = Project.open_for(video.path)
    assert project.directory == video.path.parent / "square.vosproj"
    assert project.json_path.is_file() and project.masks_dir.is_dir()
    assert (project.frame_count, project.size) == (20, (96, 128))
    project.objects = [ObjectInfo.new(1), ObjectInfo(7, "car", "#102030", visible=False)]
    for frame, source in ((0, "user"), (1, "propagated"), (2, "propagated"), (9, "user")):
        project.write_mask(frame, video.masks[frame] * (7 if frame == 9 else 1), source)
        project.sources[frame] = source
    project.confidence = {1: 0.75, 2: 0.5}
    project.current_frame = 9
    project.settings = {"arch": "propagation", "memory": {"every": 3}}
    project.save()

    again = Project.open_for(video.path)
    assert again.objects == project.objects
    assert again.annotated_frames() == [0, 9]
    assert again.propagated_frames() == [1, 2]
    assert again.confidence == {1: 0.75, 2: 0.5}
    assert again.current_frame == 9
    assert again.settings == project.settings
    assert again.problems == []
    np.testing.assert_array_equal(again.read_mask(9), video.masks[9] * 7)
    assert again.read_mask(5) is None
    data = json.loads(again.json_path.read_text())
    assert data["version"] == SCHEMA_VERSION and data["size"] == [96, 128]
    with Image.open(again.mask_path(0)) as image:  # palette PNG at the original resolution
        assert image.mode == "P" and image.size == (128, 96)


def test_chosen_folder_and_frame_folder_default(tmp_path: Path, video: SyntheticVideo) -> None:
    chosen = tmp_path / "elsewhere" / "my project"
    project = Project.open_for(video.path, chosen)
    assert project.directory == chosen.absolute() and project.json_path.is_file()
    frames = tmp_path / "shots"
    frames.mkdir()
    for index in range(3):
        Image.fromarray(video.frames[index]).save(frames / f"{index}.png")
    assert default_project_dir(frames) == tmp_path / "shots.vosproj"
    assert Project.open_for(frames).frame_count == 3


def _edit_json(project: Project, **changes: object) -> None:
    data = json.loads(project.json_path.read_text())
    data.update(changes)
    project.json_path.write_text(json.dumps(data))


def test_newer_version_is_refused(video: SyntheticVideo) -> None:
    project = Project.open_for(video.path)
    _edit_json(project, version=SCHEMA_VERSION + 1)
    with pytest.raises(ProjectError, match="newer version"):
        Project.open_for(video.path)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"version": "1"}, "version"),
        ({"objects": {"id": 1}}, "objects"),
        ({"objects": [{"id": 0, "name": "x", "colour": "#000000"}]}, "object"),
        ({"objects": [{"id": 1, "name": "x", "colour": "red"}]}, "colour"),
        ({"annotated_frames": [0, 99]}, "annotated_frames"),
        ({"propagated_frames": ["3"]}, "propagated_frames"),
        ({"confidence": {"1": "high"}}, "confidence"),
        ({"current_frame": 1.5}, "current_frame"),
        ({"size": [96]}, "size"),
        ({"not_references": [0, 99]}, "not_references"),
        ({"pinned_frames": "3"}, "pinned_frames"),
    ],
)
def test_malformed_fields_are_refused(video: SyntheticVideo, changes: dict, match: str) -> None:
    project = Project.open_for(video.path)
    _edit_json(project, **changes)
    with pytest.raises(ProjectError, match=match):
        Project.open_for(video.path)


def test_missing_field_invalid_json_and_mismatches(video: SyntheticVideo) -> None:
    project = Project.open_for(video.path)
    data = json.loads(project.json_path.read_text())
    del data["objects"]
    project.json_path.write_text(json.dumps(data))
    with pytest.raises(ProjectError, match="missing the field 'objects'"):
        Project.open_for(video.path)
    project.json_path.write_text("{not json")
    with pytest.raises(ProjectError, match="not valid JSON"):
        Project.open_for(video.path)
    project.json_path.write_text("[]")
    with pytest.raises(ProjectError, match="corrupt"):
        Project.open_for(video.path)
    project.save()
    _edit_json(project, frame_count=21)
    with pytest.raises(ProjectError, match="21 frames"):
        Project.open_for(video.path)
    project.save()
    _edit_json(project, size=[100, 128])
    with pytest.raises(ProjectError, match="128×100"):
        Project.open_for(video.path)


def test_corrupt_mask_is_reported_and_skipped(video: SyntheticVideo) -> None:
    project = Project.open_for(video.path)
    for frame in (0, 1, 2):
        project.write_mask(frame, video.masks[frame], "user")
        project.sources[frame] = "user"
    project.confidence = {1: 0.9}
    project.save()
    project.mask_path(1).write_bytes(b"garbage, not a png")
    Image.new("P", (10, 10)).save(project.mask_path(2))  # wrong size
    again = Project.open_for(video.path)
    assert again.annotated_frames() == [0]
    assert len(again.problems) == 2 and all("corrupt mask" in p for p in again.problems)
    assert again.confidence == {}
    assert (again.masks_dir / "00001.png.corrupt").is_file()
    assert Project.open_for(video.path).problems == []  # reported once, kept aside


def test_truncated_mask_is_skipped_when_read(video: SyntheticVideo) -> None:
    project = Project.open_for(video.path)
    project.write_mask(4, video.masks[4], "user")
    project.sources[4] = "user"
    project.save()
    data = project.mask_path(4).read_bytes()
    project.mask_path(4).write_bytes(data[: len(data) - 40])  # header intact, pixels cut
    again = Project.open_for(video.path)
    assert again.read_mask(4) is None
    assert again.problems and "frame 4" in again.problems[-1]


def test_masks_written_after_the_last_json_are_recovered(video: SyntheticVideo) -> None:
    project = Project.open_for(video.path)
    project.write_mask(3, video.masks[3], "user")  # a crash before project.json was updated
    project.write_mask(4, video.masks[4], "propagated")
    (project.masks_dir / ".00005.abc.tmp.png").write_bytes(b"half")  # interrupted write
    _edit_json(project, annotated_frames=[7])  # listed, but its file never made it
    again = Project.open_for(video.path)
    assert again.annotated_frames() == [3]
    assert again.propagated_frames() == [4]
    assert not (again.masks_dir / ".00005.abc.tmp.png").exists()


def test_folder_that_is_a_file(tmp_path: Path, video: SyntheticVideo) -> None:
    target = tmp_path / "file.vosproj"
    target.write_text("x")
    with pytest.raises(ProjectError, match="is a file"):
        Project.open_for(video.path, target)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    labels=hnp.arrays(np.uint8, (96, 128), elements=st.integers(0, 255)),
    source=st.sampled_from(["user", "propagated"]),
)
def test_mask_files_round_trip(video: SyntheticVideo, labels: np.ndarray, source: str) -> None:
    project = Project.open_for(video.path)
    project.write_mask(11, labels, source)  # type: ignore[arg-type]
    np.testing.assert_array_equal(project.read_mask(11), labels)
    assert inspect_mask_file(project.mask_path(11), project.size) == (source, None)


def test_reference_marks_and_pins_round_trip_and_old_files_load(video: SyntheticVideo) -> None:
    project = Project.open_for(video.path)
    project.sources.update({2: "user", 4: "user", 6: "propagated"})
    project.not_references = {4}
    project.pinned_frames = [6, 2]
    project.save()
    again = Project.open_for(video.path)
    assert again.not_references == {4} and again.pinned_frames == [2, 6]
    data = json.loads(again.json_path.read_text())
    assert data["not_references"] == [4] and data["pinned_frames"] == [2, 6]
    for key in ("not_references", "pinned_frames"):  # a project saved before these keys existed
        del data[key]
    again.json_path.write_text(json.dumps(data))
    old = Project.open_for(video.path)
    assert old.not_references == set() and old.pinned_frames == []
