"""Document + EngineClient together: results land in the store, a run is one undo step."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic_video import SyntheticVideo, iou

from tests.app.conftest import document_with_engine
from vos_core.memory.entries import EntryKind

TIMEOUT = 120_000


@pytest.fixture
def setup(no_thread_leaks, qtbot, video: SyntheticVideo):
    with document_with_engine(qtbot, video.path) as pair:
        yield pair


def test_propagation_fills_the_store_and_undoes_as_one_step(qtbot, setup, video: SyntheticVideo):
    document, engine = setup
    document.add_object("square")
    document.edit_mask(0, video.masks[0])
    user_fix = video.masks[12].copy()
    user_fix[:4] = 1
    document.edit_mask(12, user_fix)  # a user frame on the way: never overwritten
    steps = document.undo_stack.count()
    with qtbot.waitSignal(engine.run_finished, timeout=TIMEOUT) as finished:
        assert document.propagate(0, 19)
    assert finished.args == [True]
    assert document.masks.annotated_frames() == [0, 12]
    assert document.masks.propagated_frames() == [f for f in range(1, 20) if f != 12]
    np.testing.assert_array_equal(document.masks.get(12), user_fix)
    for frame in document.masks.propagated_frames():
        print(
            frame,
            iou(document.masks.get(frame) == 1, video.masks[frame] == 1),
            np.unique(document.masks.get(frame)),
        )
        assert 0.0 < document.confidence[frame] <= 1.0
    assert document.memory_stats is not None
    assert document.undo_stack.count() == steps + 1
    run_frames = set(document.masks.propagated_frames())

    def learnt_from_run() -> list[int]:
        return [e.frame for e in document.memory_stats.entries
                if e.frame in run_frames and e.kind != EntryKind.PERMANENT]

    assert learnt_from_run()  # the run's predictions entered memory
    with qtbot.waitSignal(engine.memory_changed, timeout=TIMEOUT):
        document.undo_stack.undo()
    assert document.masks.frames() == [0, 12]
    assert learnt_from_run() == []  # undone predictions left memory too
    assert document.memory_stats.recent_frames == ()
    assert 0 in [e.frame for e in document.memory_stats.entries if e.kind == EntryKind.PERMANENT]
    document.undo_stack.redo()
    assert len(document.masks.propagated_frames()) == 18
    assert document.save()


def test_stopped_run_is_still_one_step(qtbot, setup, video: SyntheticVideo):
    document, engine = setup
    document.edit_mask(0, video.masks[0])
    engine.frame_ready.connect(lambda result: engine.stop() if result.index == 4 else None)
    with qtbot.waitSignal(engine.run_finished, timeout=TIMEOUT) as finished:
        document.propagate(0, 19)  # seeded with the stored mask of frame 0
    assert finished.args == [False]
    frames = document.masks.propagated_frames()
    assert frames[:4] == [1, 2, 3, 4] and len(frames) <= 5
    assert document.undo_stack.undoText().startswith("Propagate")
    document.undo_stack.undo()
    assert document.masks.frames() == [0]
