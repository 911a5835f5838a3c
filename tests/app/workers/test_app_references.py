"""References are the annotations (issue 12 items 1-4), with a real Document and EngineClient.

Every user frame reaches the engine as a reference through the document's one observer; reopening
restores references and pins, so propagating after reopen gives the same bytes; undo/redo of a run
keeps edits made meanwhile, keeps pins, and takes the memory and the plot along.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from synthetic_video import SyntheticVideo, make_video

from app.model.document import Document
from app.workers.engine_client import EngineClient
from vos_core import AdaptConfig, EntryKind, FrameResult, MemoryStats, SessionConfig

TIMEOUT = 120_000


#: a short refit of the shipped stcn (whose heads adapt), kept in the project as the app keeps it
SHORT_FIT = AdaptConfig(steps=6, copies=2, holdout=1, warm_steps=2, threads=1)


@contextmanager
def opened(qtbot, path: Path, keep_fit: bool = False) -> Iterator[tuple[Document, EngineClient]]:
    """Open ``path`` as the app does: the engine loads the video, then the document is attached
    (which sends the project's references and pins). ``keep_fit``: stcn with a short refit, kept
    in the project's ``adaptation/`` folder as the app keeps it (else the engine's default
    architecture, which keeps nothing)."""
    document = Document.open(path)
    engine = EngineClient()
    config = SessionConfig(arch="stcn", threads=1, adapt=SHORT_FIT) if keep_fit else SessionConfig(threads=1)
    keep_in = document.project.adaptation_dir if keep_fit else None
    with qtbot.waitSignal(engine.ready, timeout=TIMEOUT):
        engine.open_video(str(document.video_path), config, keep_in)
    document.attach_engine(engine)
    try:
        yield document, engine
    finally:
        assert engine.shutdown(30_000)
        document.close()


def run(qtbot, document: Document, engine: EngineClient, start: int, end: int) -> dict[int, FrameResult]:
    """Propagate and collect the engine's results by frame."""
    results: dict[int, FrameResult] = {}

    def keep(result: FrameResult) -> None:
        results[int(result.index)] = result

    engine.frame_ready.connect(keep)
    try:
        with qtbot.waitSignal(engine.run_finished, timeout=TIMEOUT) as finished:
            assert document.propagate(start, end, "forward" if end > start else "backward")
    finally:
        engine.frame_ready.disconnect(keep)
    assert finished.args == [True]
    return results


def memory(qtbot, engine: EngineClient) -> MemoryStats:
    with qtbot.waitSignal(engine.memory_changed, timeout=TIMEOUT) as got:
        engine.request_memory()
    return got.args[0]


def entries_of(stats: MemoryStats, frame: int) -> list[EntryKind]:
    return [e.kind for e in stats.entries if e.frame == frame]


def wrong(labels: np.ndarray, dx: int = 14) -> np.ndarray:
    """A user's mask that differs from the prediction: the object moved ``dx`` pixels right."""
    return np.roll(labels, dx, axis=1)


def test_reopen_propagates_byte_for_byte(qtbot, no_thread_leaks, video: SyntheticVideo) -> None:
    with opened(qtbot, video.path) as (document, engine):
        document.add_object("square")
        document.edit_mask(0, video.masks[0])
        m0 = {f: r.labels for f, r in run(qtbot, document, engine, 0, 19).items()}
        document.edit_mask(5, wrong(video.masks[5]))  # the correction
        first = run(qtbot, document, engine, 0, 19)
        m1 = {f: r.labels for f, r in first.items()}
        assert first[5].given
        assert any(not np.array_equal(m0[f], m1[f]) for f in range(6, 20))
        assert document.save()
    with opened(qtbot, video.path) as (document, engine):
        starts: list[MemoryStats] = []
        engine.frame_ready.connect(lambda r: starts.append(r.memory) if r.index == 1 else None)
        again = run(qtbot, document, engine, 0, 19)
        assert again.keys() == m1.keys()
        for frame, result in again.items():
            assert np.array_equal(result.labels, m1[frame]), frame
            assert np.array_equal(document.masks.get(frame), m1[frame]), frame
        assert again[5].given
        # once the run started, memory holds both references as permanent entries
        assert entries_of(starts[0], 0) == [EntryKind.PERMANENT]
        assert entries_of(starts[0], 5) == [EntryKind.PERMANENT]


def test_reopen_restores_pins(qtbot, no_thread_leaks, video: SyntheticVideo) -> None:
    with opened(qtbot, video.path) as (document, engine):
        document.add_object("square")
        document.edit_mask(0, video.masks[0])
        run(qtbot, document, engine, 0, 19)
        working = [e for e in memory(qtbot, engine).entries if e.kind == EntryKind.WORKING][0]
        with qtbot.waitSignal(engine.memory_changed, timeout=TIMEOUT):
            assert "pinned" in document.set_pinned(working.frame, True)
        assert document.project.pinned_frames == [working.frame]
        assert document.save()
    with opened(qtbot, video.path) as (document, engine):
        assert document.project.pinned_frames == [working.frame]
        got = memory(qtbot, engine)
        assert got.pinned_frames == (working.frame,)
        run(qtbot, document, engine, 0, 19)
        pinned = [(e.frame, e.kind) for e in memory(qtbot, engine).entries if e.pinned]
        assert pinned == [(working.frame, EntryKind.WORKING)]
        # a settings change that rebuilds the session: the document sends the pins again
        with qtbot.waitSignal(engine.ready, timeout=TIMEOUT):
            engine.configure(SessionConfig(threads=1, process_height=64))
            document.restore_pins()
        assert memory(qtbot, engine).pinned_frames == (working.frame,)
        assert document.project.pinned_frames == [working.frame]


@pytest.mark.parametrize("pinned, kept_fit", [(True, False), (False, False), (True, True)])
def test_reopen_and_propagate_again_is_byte_identical_with_and_without_a_pin(
    qtbot, no_thread_leaks, long_video: SyntheticVideo, pinned: bool, kept_fit: bool
) -> None:
    """Issue 24: with one pinned prediction, reopen + propagate changed 86 of 90 frames (the pin
    came back rebuilt from the overwritten mask, and showed as two memory rows). With a pin and the
    fit kept in the project together, the reopened project learns nothing and gives the same bytes."""
    video = long_video
    last = len(video.masks) - 1
    with opened(qtbot, video.path, kept_fit) as (document, engine):
        document.add_object("square")
        document.edit_mask(0, video.masks[0])
        run(qtbot, document, engine, 0, last)
        if pinned:
            frame = next(e.frame for e in memory(qtbot, engine).entries
                         if e.kind == EntryKind.WORKING and e.frame >= 8)  # fmt: skip
            document.set_pinned(frame, True)
        before = {f: r.labels for f, r in run(qtbot, document, engine, 0, last).items()}
        rows = [e.frame for e in memory(qtbot, engine).entries]
        assert len(rows) == len(set(rows))  # one row per frame: the run kept the pinned entry
        assert document.save()
        if kept_fit:
            assert (document.project.adaptation_dir / "fit.pt").is_file()
    with opened(qtbot, video.path, kept_fit) as (document, engine):
        refits: list[int] = []
        engine.adapting.connect(refits.append)
        again = run(qtbot, document, engine, 0, last)
        if kept_fit:
            assert refits == []  # the kept fit is reused: no refit after the reopen
        changed = [f for f in before if not np.array_equal(again[f].labels, before[f])]
        assert changed == [], f"{len(changed)} of {len(before)} frames changed"
        stats = memory(qtbot, engine)
        assert [e.frame for e in stats.entries if e.pinned] == ([frame] if pinned else [])
        rows = [e.frame for e in stats.entries]
        assert len(rows) == len(set(rows))


def test_a_frame_painted_ahead_of_a_run_is_used(qtbot, no_thread_leaks, video: SyntheticVideo) -> None:
    painted = wrong(video.masks[14])
    with opened(qtbot, video.path) as (document, engine):
        document.add_object("square")
        document.edit_mask(0, video.masks[0])

        def paint(result: FrameResult) -> None:
            if result.index == 3:
                document.edit_mask(14, painted)  # during the run, ahead of it

        engine.frame_ready.connect(paint)
        results = run(qtbot, document, engine, 0, 19)
        engine.frame_ready.disconnect(paint)
        assert results[14].given and np.array_equal(results[14].labels, painted)
        assert entries_of(results[19].memory, 14) == [EntryKind.PERMANENT]
        np.testing.assert_array_equal(document.masks.get(14), painted)


def test_a_corrected_frame_loses_its_predicted_entry(qtbot, no_thread_leaks, video: SyntheticVideo) -> None:
    with opened(qtbot, video.path) as (document, engine):
        document.add_object("square")
        document.edit_mask(0, video.masks[0])
        run(qtbot, document, engine, 0, 19)
        stats = memory(qtbot, engine)
        frame = next(e.frame for e in stats.entries if e.kind == EntryKind.WORKING)
        with qtbot.waitSignal(engine.memory_changed, timeout=TIMEOUT) as changed:
            document.edit_mask(frame, wrong(video.masks[frame]))
        assert entries_of(changed.args[0], frame) == []  # the prediction's entry is gone at once
        results = run(qtbot, document, engine, 0, 19)
        assert entries_of(results[19].memory, frame) == [EntryKind.PERMANENT]
        assert results[frame].given


def test_a_cleared_frame_is_no_reference(qtbot, no_thread_leaks, video: SyntheticVideo) -> None:
    with opened(qtbot, video.path) as (document, engine):
        document.add_object("square")
        document.edit_mask(0, video.masks[0])
        document.edit_mask(10, wrong(video.masks[10]))
        first = run(qtbot, document, engine, 0, 19)
        assert first[10].given and entries_of(first[19].memory, 10) == [EntryKind.PERMANENT]
        document.clear_mask(10)
        results = run(qtbot, document, engine, 0, 19)
        assert not results[10].given
        assert EntryKind.PERMANENT not in entries_of(results[19].memory, 10)
        assert document.masks.source(10) == "propagated"
        # undo of the run, then of the clear: frame 10 is a reference again
        document.undo_stack.undo()
        document.undo_stack.undo()
        assert document.masks.source(10) == "user"
        assert run(qtbot, document, engine, 0, 19)[10].given


def test_not_a_reference(qtbot, no_thread_leaks, video: SyntheticVideo) -> None:
    with opened(qtbot, video.path) as (document, engine):
        document.add_object("square")
        document.edit_mask(0, video.masks[0])
        document.edit_mask(10, wrong(video.masks[10]))
        document.set_use_as_reference(10, False)
        results = run(qtbot, document, engine, 0, 19)
        assert not results[10].given and EntryKind.PERMANENT not in entries_of(results[19].memory, 10)
        assert document.masks.source(10) == "user"  # the user's mask is kept, only not used
        assert document.save()
    reopened = Document.open(video.path)
    try:
        assert reopened.project.not_references == {10} and reopened.reference_frames() == [0]
    finally:
        reopened.close()


@pytest.fixture
def long_video(tmp_path: Path) -> SyntheticVideo:
    return make_video(tmp_path / "long.mp4", 30)


def test_undo_redo_of_a_run_keeps_edits_pins_memory_and_plot(
    qtbot, no_thread_leaks, long_video: SyntheticVideo
) -> None:
    video = long_video
    stroke = wrong(video.masks[25], 6)
    with opened(qtbot, video.path) as (document, engine):
        document.add_object("square")
        document.edit_mask(0, video.masks[0])

        def edit_25(result: FrameResult) -> None:
            if result.index == 27:  # the run wrote frame 25 already; the user strokes it
                document.edit_mask(25, stroke)

        engine.frame_ready.connect(edit_25)
        run(qtbot, document, engine, 0, 29)
        engine.frame_ready.disconnect(edit_25)
        np.testing.assert_array_equal(document.masks.get(25), stroke)
        plot_after = dict(document.memory_mb), dict(document.confidence)
        assert set(range(1, 30)) <= set(plot_after[0])
        after_run = memory(qtbot, engine)
        learnt = [e for e in after_run.entries if e.kind != EntryKind.PERMANENT]
        assert len(learnt) >= 3
        pinned = learnt[0]
        with qtbot.waitSignal(engine.memory_changed, timeout=TIMEOUT):
            engine.pin(pinned.id)

        assert document.undo_stack.undoText().startswith("Propagate")
        with qtbot.waitSignal(engine.memory_changed, timeout=TIMEOUT) as undone:
            document.undo_stack.undo()
        np.testing.assert_array_equal(document.masks.get(25), stroke)  # the stroke survives
        assert document.masks.frames() == [0, 25]
        kept = [e for e in undone.args[0].entries if e.kind != EntryKind.PERMANENT]
        assert [(e.id, e.pinned) for e in kept] == [(pinned.id, True)]  # the pin survives
        assert set(document.memory_mb) <= {0, 25} and set(document.confidence) <= {0, 25}

        document.undo_stack.redo()
        restored = memory(qtbot, engine)
        np.testing.assert_array_equal(document.masks.get(25), stroke)  # redo does not wipe it
        assert document.masks.source(25) == "user"
        again = [e for e in restored.entries if e.kind != EntryKind.PERMANENT]
        assert len(again) == len(learnt)  # the run's memory is back
        assert any(e.id == pinned.id and e.pinned for e in again)
        assert document.memory_mb == plot_after[0] and document.confidence == plot_after[1]
