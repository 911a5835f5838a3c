"""The review-marks sidecar that any export can carry (vos_core.formats.review)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vos_core.errors import VosInputError
from vos_core.formats.review import ReviewMarks, read_review, review_file_name, write_review


def test_write_then_read_back(tmp_path: Path) -> None:
    marks = ReviewMarks.of(corrected=[0, 40], reviewed=[12, 40])
    assert marks.reviewed == {12}  # a frame both corrected and reviewed counts as corrected
    path = write_review(tmp_path, "bear", marks, frames_with_masks=range(50), n_frames=82)
    assert path == tmp_path / review_file_name("bear") == tmp_path / "bear_review.json"
    payload = json.loads(path.read_text())
    assert payload["corrected"] == [0, 40] and payload["reviewed"] == [12]
    assert payload["frames"] == 82 and payload["propagated"] == 47 and payload["sequence"] == "bear"
    assert read_review(path) == marks
    assert [marks.state(f) for f in (0, 12, 13)] == ["corrected", "reviewed", "propagated"]
    assert not list(tmp_path.glob("*.tmp*"))  # written atomically, nothing left beside it


def test_marks_outside_the_video_are_refused(tmp_path: Path) -> None:
    with pytest.raises(VosInputError, match="outside the video"):
        write_review(tmp_path, "clip", ReviewMarks.of([3], [25]), range(20), n_frames=20)
    assert not (tmp_path / "clip_review.json").exists()


@pytest.mark.parametrize(
    "content, message",
    [("not json", "Cannot read"), ('{"format": "other"}', "not a review-marks file"),
     ('{"format": "vos-annotator review", "corrected": ["x"]}', "bad frame list")],
)  # fmt: skip
def test_bad_files_raise_clear_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "x_review.json"
    path.write_text(content)
    with pytest.raises(VosInputError, match=message):
        read_review(path)
