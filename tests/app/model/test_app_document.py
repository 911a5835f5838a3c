"""Document: opening, frames, current frame, edits, engine results, persistence."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from synthetic_video import SyntheticVideo

from app.model.document import Document
from app.model.object_info import default_colour
from vos_core import MemoryStats
from vos_core.config import MemoryConfig, SessionConfig
from vos_core.errors import ProjectError, VosError, VosInputError
from vos_core.inference.results import FrameResult, Timings


def fake_result(index: int, labels: np.ndarray, confidence: float = 0.8, given: bool = False):
    stats = MemoryStats(entries=(), recent_frames=(index,), recent_contribution=0.5, total_bytes=10)
    return FrameResult(
        index=index,
        labels=labels,
        object_ids=tuple(int(v) for v in np.unique(labels) if v),
        probs=np.zeros((1, 4, 4), np.float16),
        confidence=confidence,
        given=given,
        memory_added=None,
        memory=stats,
        timings=Timings(),
        quality=confidence,
        object_quality=(confidence,),
    )


@pytest.fixture
def document(qtbot, video: SyntheticVideo):
    doc = Document.open(video.path)
    yield doc
    doc.close()


def test_open_and_frames(document: Document, video: SyntheticVideo) -> None:
    assert (document.frame_count, document.size, document.name) == (20, (96, 128), "square")
    assert document.fps == pytest.approx(10.0)
    frame = document.frame(7)
    assert frame.shape == (96, 128, 3) and frame.dtype == np.uint8 and not frame.flags.writeable
    errors = [np.abs(frame.astype(int) - video.frames[i]).mean() for i in range(20)]
    assert int(np.argmin(errors)) == 7  # the right frame (compression noise aside)
    assert document.frame(7) is frame  # cached
    assert document.project.directory == video.path.parent / "square.vosproj"


def test_open_errors_are_vos_errors(tmp_path: Path, video: SyntheticVideo) -> None:
    with pytest.raises(VosInputError, match="not found"):
        Document.open(tmp_path / "missing.mp4")
    doc = Document.open(video.path)
    doc.close()
    doc.project.json_path.write_text('{"version": 99}')
    with pytest.raises(ProjectError) as error:
        Document.open(video.path)
    assert isinstance(error.value, VosError) and "newer" in str(error.value)


def test_current_frame(qtbot, document: Document) -> None:
    with qtbot.waitSignal(document.current_changed) as changed:
        document.current_frame = 12
    assert changed.args == [12] and document.current_frame == 12
    document.set_current_frame(500)
    assert document.current_frame == 19
    with qtbot.assertNotEmitted(document.current_changed):
        document.set_current_frame(19)


def test_the_timeline_and_plot_get_the_estimated_quality(qtbot, document: Document, video: SyntheticVideo):
    """The per-frame value behind the red ticks and the plot is the quality estimate, not the old
    confidence (which stayed high on bad frames)."""
    document.begin_run()
    result = replace(fake_result(2, video.masks[2], 0.9), quality=0.3, object_quality=(0.3,))
    assert document.apply_result(result)
    document.end_run()
    assert document.confidence == {2: 0.3}


def test_results_never_overwrite_user_frames(qtbot, document: Document, video: SyntheticVideo):
    document.edit_mask(3, video.masks[3])
    document.begin_run()
    with qtbot.waitSignal(document.confidence_changed) as changed:
        assert document.apply_result(fake_result(2, video.masks[2], 0.7))
    assert changed.args == [2]
    assert not document.apply_result(fake_result(3, np.zeros((96, 128), np.uint8)))
    assert document.apply_result(fake_result(4, video.masks[4] * 2, 0.6))
    document.end_run()
    np.testing.assert_array_equal(document.masks.get(3), video.masks[3])
    assert document.masks.source(3) == "user" and document.masks.propagated_frames() == [2, 4]
    assert document.confidence == {2: 0.7, 3: 0.8, 4: 0.6}
    assert document.objects.ids() == [1, 2]  # new ids seen in results became objects
    assert document.memory_stats is not None and document.memory_stats.total_bytes == 10
    assert document.undo_stack.count() == 2  # the edit, then the run
    document.undo_stack.undo()
    assert document.masks.frames() == [3]
    assert 2 not in document.confidence
    document.undo_stack.undo()
    assert document.masks.frames() == []


def test_persistence_across_reopen(qtbot, video: SyntheticVideo) -> None:
    doc = Document.open(video.path)
    doc.add_object("square")
    doc.add_object("other", "#00ff00")
    doc.rename_object(2, "shadow")
    doc.edit_mask(0, video.masks[0])
    doc.apply_result(fake_result(1, video.masks[1], 0.9))
    doc.set_current_frame(5)
    doc.set_settings(SessionConfig(process_height=240, memory=MemoryConfig(every=3)))
    doc.close()

    again = Document.open(video.path)
    try:
        assert [(o.id, o.name, o.colour) for o in again.objects.objects()] == [
            (1, "square", default_colour(1)),
            (2, "shadow", "#00ff00"),
        ]
        assert again.current_frame == 5
        assert again.masks.annotated_frames() == [0] and again.masks.propagated_frames() == [1]
        assert again.confidence == {1: 0.9}
        assert again.settings.process_height == 240 and again.settings.memory.every == 3
        np.testing.assert_array_equal(again.masks.get(0), video.masks[0])
    finally:
        again.close()


def test_remove_object_and_import(qtbot, document: Document, video: SyntheticVideo) -> None:
    document.import_masks({0: video.masks[0] * 3, 5: video.masks[5]})
    assert document.objects.ids() == [3, 1]
    assert document.masks.annotated_frames() == [0, 5]
    document.remove_object(3)
    assert not document.masks.get(0).any() and document.objects.ids() == [1]
    document.undo_stack.undo()
    np.testing.assert_array_equal(document.masks.get(0), video.masks[0] * 3)
    document.undo_stack.undo()  # the whole import is one step
    assert document.masks.frames() == []


def test_save_and_clear(qtbot, document: Document, video: SyntheticVideo) -> None:
    document.edit_mask(8, video.masks[8])
    assert document.save()
    assert document.project.mask_path(8).is_file()
    document.clear_mask(8)
    assert document.save() and not document.project.mask_path(8).exists()
    assert document.undo_stack.undoText() == "Clear mask"
