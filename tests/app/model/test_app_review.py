"""Issue 24 item 2: a propagated frame becomes a reference only through a deliberate correction;
a key edit or a tiny change leaves it a reviewed frame, "Mark reviewed" records a check without a
change; all of it is undoable, saved with the project, and exposed for exports."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic_video import SyntheticVideo

from app.model.document import Document
from app.model.review import TINY_PIXELS, is_correction, is_tiny
from tests.app.model.test_app_document import fake_result


@pytest.fixture
def document(qtbot, video: SyntheticVideo):
    doc = Document.open(video.path)
    doc.add_object("square")
    doc.edit_mask(0, video.masks[0])  # the first annotation: a reference
    for frame in range(1, 6):  # the engine's predictions
        doc.apply_result(fake_result(frame, video.masks[frame]))
    yield doc
    doc.close()


def with_hole(labels: np.ndarray) -> np.ndarray:
    holed = labels.copy()
    ys, xs = np.nonzero(labels)
    cy, cx = int(ys.mean()), int(xs.mean())
    holed[cy - 3 : cy + 3, cx - 3 : cx + 3] = 0
    return holed


def test_the_tiny_rule() -> None:
    mask = np.zeros((96, 128), np.uint8)
    mask[20:60, 20:60] = 1  # 1600 px: 1 % is 16, so the absolute floor decides
    dab = mask.copy()
    dab[10:14, 10:14] = 1  # 16 stray pixels
    stroke = mask.copy()
    stroke[20:60, 60:70] = 1  # 400 px: a real correction
    assert is_tiny(mask, dab) and not is_tiny(mask, stroke)
    big = np.ones((96, 128), np.uint8)  # 12288 px: 1 % is 122 px
    assert is_tiny(big, np.pad(big[:, 1:], ((0, 0), (0, 1))))  # 96 changed
    assert TINY_PIXELS == 32
    assert not is_correction(mask, "propagated", stroke, "Fill holes")  # a key, whatever it changes
    assert not is_correction(mask, "propagated", dab, "Brush stroke")
    assert is_correction(mask, "propagated", stroke, "Brush stroke")
    assert is_correction(None, None, dab, "Brush stroke")  # a new annotation
    assert is_correction(mask, "corrected", dab, "Brush stroke")  # a reference stays one


def test_fill_holes_and_a_tiny_dab_leave_a_reviewed_frame(document: Document, video: SyntheticVideo) -> None:
    document.user_edit(2, with_hole(video.masks[2]), "Brush stroke")  # a large change: a correction
    assert document.review_state(2) == "corrected" and document.is_reference(2)
    holed = with_hole(video.masks[3])
    document.apply_result(fake_result(3, holed))
    document.user_edit(3, video.masks[3], "Fill holes")  # issue 24: a stray key on a predicted frame
    assert document.review_state(3) == "reviewed" and not document.is_reference(3)
    np.testing.assert_array_equal(document.masks.get(3), video.masks[3])  # the edit is kept
    dab = video.masks[4].copy()
    dab[0:3, 0:3] = 1
    document.user_edit(4, dab, "Brush stroke")
    assert document.review_state(4) == "reviewed"
    assert document.undo_stack.undoText() == "Brush stroke (reviewed)"
    assert document.reference_frames() == [0, 2]
    assert document.reviewed_only() == [3, 4]
    assert document.reviewed_frames() == [0, 2, 3, 4]
    # a run never overwrites a reviewed frame
    assert not document.apply_result(fake_result(4, video.masks[4]))
    # undo: the frame is the engine's prediction again, not reviewed
    document.undo_stack.undo()
    assert document.review_state(4) == "propagated" and document.reviewed_only() == [3]
    np.testing.assert_array_equal(document.masks.get(4), video.masks[4])
    document.undo_stack.redo()
    assert document.review_state(4) == "reviewed"
    # a deliberate stroke on a reviewed frame corrects it
    wide = video.masks[4].copy()
    wide[:, :40] = 1
    document.user_edit(4, wide, "Brush stroke")
    assert document.review_state(4) == "corrected" and document.reference_frames() == [0, 2, 4]
    document.undo_stack.undo()
    assert document.review_state(4) == "reviewed"


def test_mark_reviewed_is_an_undo_step_and_persists(document: Document, video: SyntheticVideo) -> None:
    assert "marked reviewed" in document.mark_reviewed(5)
    assert document.review_state(5) == "reviewed" and document.masks.source(5) == "user"
    np.testing.assert_array_equal(document.masks.get(5), video.masks[5])  # unchanged
    assert "already" in document.mark_reviewed(5)
    assert "correction" in document.mark_reviewed(0)
    assert "no mask" in document.mark_reviewed(15)
    assert document.undo_stack.undoText() == "Mark frame 5 reviewed"
    document.undo_stack.undo()
    assert document.review_state(5) == "propagated" and document.reviewed_only() == []
    document.undo_stack.redo()
    # "Use as reference" makes a reviewed frame a correction, and a propagated one (one undo step)
    document.mark_reviewed(1)
    document.set_use_as_reference(1, True)
    assert document.review_state(1) == "corrected"
    document.set_use_as_reference(2, True)
    assert document.review_state(2) == "corrected" and document.undo_stack.undoText() == "Use as reference"
    np.testing.assert_array_equal(document.masks.get(2), video.masks[2])
    document.undo_stack.undo()
    assert document.review_state(2) == "propagated"
    assert document.save()
    reopened = Document.open(video.path)
    try:
        assert reopened.review_state(5) == "reviewed" and reopened.review_state(1) == "corrected"
        assert reopened.reviewed_frames() == [0, 1, 5] and reopened.reviewed_only() == [5]
        assert reopened.project.to_json()["reviewed_frames"] == [5]
    finally:
        reopened.close()
