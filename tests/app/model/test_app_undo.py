"""Undo/redo of mask edits, whole propagation runs and object changes."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QUndoStack
from synthetic_video import SyntheticVideo

from app.model.mask_store import MaskStore
from app.model.object_info import ObjectInfo
from app.model.objects import ObjectListModel
from app.model.project import Project
from app.model.undo import (
    AddObjectCommand,
    MaskEditCommand,
    PropagationRunCommand,
    RecolourObjectCommand,
    RemoveObjectCommand,
    RenameObjectCommand,
)


@pytest.fixture
def store(qtbot, video: SyntheticVideo):
    masks = MaskStore(Project.open_for(video.path))
    yield masks
    masks.close()


def test_mask_edit_undo_restores_previous_source(store: MaskStore, video: SyntheticVideo) -> None:
    stack = QUndoStack()
    predicted = video.masks[4]
    store.set(4, predicted, "propagated")
    corrected = predicted.copy()
    corrected[:10] = 1
    stack.push(MaskEditCommand(store, 4, store.get(4), corrected, "Brush"))
    assert store.source(4) == "user"
    np.testing.assert_array_equal(store.get(4), corrected)
    stack.undo()
    assert store.source(4) == "propagated"
    np.testing.assert_array_equal(store.get(4), predicted)
    stack.redo()
    assert store.source(4) == "user"
    assert stack.undoText() == "Brush"


def test_edit_of_an_empty_frame_and_clear(store: MaskStore, video: SyntheticVideo) -> None:
    stack = QUndoStack()
    stack.push(MaskEditCommand(store, 2, None, video.masks[2], "Polygon"))
    assert store.annotated_frames() == [2]
    stack.push(MaskEditCommand(store, 2, store.get(2), None, "Clear"))
    assert store.get(2) is None
    stack.undo()
    np.testing.assert_array_equal(store.get(2), video.masks[2])
    assert store.source(2) == "user"
    stack.undo()
    assert store.get(2) is None and store.source(2) is None


def test_edit_already_applied_with_explicit_source(store: MaskStore, video: SyntheticVideo) -> None:
    stack = QUndoStack()
    store.set(3, video.masks[3], "propagated")
    before = store.get(3)
    store.set(3, video.masks[4], "user")  # live preview already in the store
    stack.push(MaskEditCommand(store, 3, before, video.masks[4], before_source="propagated"))
    stack.undo()
    assert store.source(3) == "propagated"


def test_propagation_run_is_one_step(store: MaskStore, video: SyntheticVideo) -> None:
    stack = QUndoStack()
    store.set(0, video.masks[0], "user")
    store.set(2, video.masks[9], "propagated")  # an older prediction, replaced by the run
    run = PropagationRunCommand(store, text="Propagate 0–5")
    for frame in range(1, 6):  # results stream in: applied, then recorded
        before = store.get(frame)
        store.set(frame, video.masks[frame], "propagated")
        run.record(frame, before, video.masks[frame])
    stack.push(run)  # the first redo does not re-apply
    assert stack.count() == 1 and run.frames == [1, 2, 3, 4, 5]
    stack.undo()
    assert store.frames() == [0, 2]
    np.testing.assert_array_equal(store.get(2), video.masks[9])
    stack.redo()
    assert store.propagated_frames() == [1, 2, 3, 4, 5]
    np.testing.assert_array_equal(store.get(2), video.masks[2])
    assert store.annotated_frames() == [0]


def test_run_undo_redo_leave_frames_edited_meanwhile(store: MaskStore, video: SyntheticVideo) -> None:
    """A frame the user changed after the run (or after its undo) keeps the user's mask."""
    stack = QUndoStack()
    forgotten: list[list[int]] = []
    remembered: list[dict[int, np.ndarray]] = []
    run = PropagationRunCommand(
        store, on_undo=forgotten.append, on_redo=remembered.append, series={"plot": {}},
    )
    for frame in (1, 2, 3):
        store.set(frame, video.masks[frame], "propagated")
        run.record(frame, None, video.masks[frame])
        run.set_value("plot", frame, frame / 10)
    run.memorised(2)
    stroke = video.masks[7]
    stack.push(MaskEditCommand(store, 3, store.get(3), stroke, "Brush"))  # during the run
    stack.push(run)
    stack.undo()  # the run: frame 3 holds the stroke, not the run's mask
    assert store.frames() == [3] and store.source(3) == "user"
    np.testing.assert_array_equal(store.get(3), stroke)
    assert forgotten == [[1, 2, 3]] and run.series["plot"] == {}
    store.set(1, video.masks[9], "user")  # the user paints frame 1 after the undo
    stack.redo()
    np.testing.assert_array_equal(store.get(1), video.masks[9])  # redo does not wipe it
    np.testing.assert_array_equal(store.get(3), stroke)
    np.testing.assert_array_equal(store.get(2), video.masks[2])
    assert store.propagated_frames() == [2]
    assert list(remembered[0]) == [2]  # the frame the run memorised comes back to memory
    assert run.series["plot"] == {1: 0.1, 2: 0.2, 3: 0.3}


def test_prebuilt_run_applies_on_push(store: MaskStore, video: SyntheticVideo) -> None:
    stack = QUndoStack()
    changes = {frame: (None, video.masks[frame]) for frame in (7, 8)}
    stack.push(PropagationRunCommand(store, changes, applied=False))
    assert store.propagated_frames() == [7, 8]
    stack.undo()
    assert store.frames() == []


def test_object_commands(store: MaskStore, video: SyntheticVideo) -> None:
    stack = QUndoStack()
    model = ObjectListModel([ObjectInfo.new(1, "square")])
    stack.push(AddObjectCommand(model))
    assert model.ids() == [1, 2]
    stack.push(RenameObjectCommand(model, 2, "shadow"))
    stack.push(RecolourObjectCommand(model, 2, "#00ff00"))
    assert model.get(2) == ObjectInfo(2, "shadow", "#00ff00")
    stack.undo()
    stack.undo()
    assert model.get(2) == ObjectInfo.new(2)
    stack.redo()
    stack.redo()
    two_objects = video.masks[5].copy()
    two_objects[:8] = 2
    store.set(5, two_objects, "user")
    store.set(6, video.masks[6], "propagated")
    stack.push(RemoveObjectCommand(model, 1, store))
    assert model.ids() == [2]
    assert set(np.unique(store.get(5))) == {0, 2} and not store.get(6).any()
    assert store.source(6) == "propagated"
    stack.undo()
    assert model.ids() == [1, 2]
    np.testing.assert_array_equal(store.get(5), two_objects)
    np.testing.assert_array_equal(store.get(6), video.masks[6])
    stack.undo()
    stack.undo()
    stack.undo()
    assert model.ids() == [1]
