"""Issue 24 item 3, with a real Document and EngineClient: pin, evict, reset and reseed are undo
steps that say what they do; a reference is evicted only by becoming an ordinary frame; reseed
starts the run it announces."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from synthetic_video import SyntheticVideo

from app.model.document import Document
from app.workers.engine_client import EngineClient
from tests.app.workers.test_app_references import TIMEOUT, memory, opened, run
from vos_core import EntryKind, MemoryStats


def frames_of(stats: MemoryStats, *kinds: EntryKind) -> list[int]:
    return sorted(e.frame for e in stats.entries if not kinds or e.kind in kinds)


def until(qtbot, document: Document, check: Callable[[MemoryStats], bool]) -> MemoryStats:
    """Wait for the document's memory to pass ``check`` (the engine's answers are queued: earlier
    snapshots may still arrive first) and return it."""

    def passed() -> bool:
        stats = document.memory_stats
        return stats is not None and check(stats)

    qtbot.waitUntil(passed, timeout=TIMEOUT)
    assert document.memory_stats is not None
    return document.memory_stats


def propagated(qtbot, document: Document, engine: EngineClient, video: SyntheticVideo) -> list[int]:
    document.add_object("square")
    document.edit_mask(0, video.masks[0])
    run(qtbot, document, engine, 0, len(video.masks) - 1)
    return frames_of(memory(qtbot, engine), EntryKind.WORKING, EntryKind.LONG_TERM)


def test_pin_and_evict_are_undo_steps(qtbot, no_thread_leaks, video: SyntheticVideo) -> None:
    with opened(qtbot, video.path) as (document, engine):
        learnt = propagated(qtbot, document, engine, video)
        first, second = learnt[0], learnt[1]
        assert "pinned" in document.set_pinned(first, True)
        assert document.undo_stack.undoText() == f"Pin frame {first}"
        until(qtbot, document, lambda s: s.pinned_frames == (first,))
        document.undo_stack.undo()
        until(qtbot, document, lambda s: s.pinned_frames == ())
        assert document.project.pinned_frames == []
        document.undo_stack.redo()
        until(qtbot, document, lambda s: s.pinned_frames == (first,))
        assert document.project.pinned_frames == [first]

        # evicting a pinned prediction unpins it (and says so); undo puts both back
        message = document.evict(first, EntryKind.WORKING)
        assert "evicted" in message and "unpinned" in message
        until(qtbot, document, lambda s: first not in frames_of(s) and s.pinned_frames == ())
        document.undo_stack.undo()
        until(qtbot, document, lambda s: first in frames_of(s) and s.pinned_frames == (first,))
        assert document.project.pinned_frames == [first]
        document.evict(second, EntryKind.WORKING)
        stats = until(qtbot, document, lambda s: second not in frames_of(s))
        assert first in frames_of(stats)


def test_a_reference_is_evicted_by_becoming_an_ordinary_frame(
    qtbot, no_thread_leaks, video: SyntheticVideo
) -> None:
    with opened(qtbot, video.path) as (document, engine):
        propagated(qtbot, document, engine, video)
        document.edit_mask(8, np.roll(video.masks[8], 6, axis=1))  # a correction
        run(qtbot, document, engine, 0, 19)
        marks: list[int] = []
        document.references_changed.connect(marks.append)
        message = document.evict(8, EntryKind.PERMANENT)
        assert "no longer a reference" in message and "Use as reference" in message
        assert not document.is_reference(8) and document.masks.source(8) == "user"  # the mask is kept
        assert document.review_state(8) == "user" and 8 in marks  # the timeline mark changes
        until(qtbot, document, lambda s: 8 not in frames_of(s, EntryKind.PERMANENT))
        assert not run(qtbot, document, engine, 0, 19)[8].given
        document.undo_stack.undo()  # the run
        document.undo_stack.undo()  # the eviction
        assert document.is_reference(8)
        assert run(qtbot, document, engine, 0, 19)[8].given


def test_reset_is_an_undo_step(qtbot, no_thread_leaks, video: SyntheticVideo) -> None:
    with opened(qtbot, video.path) as (document, engine):
        learnt = propagated(qtbot, document, engine, video)
        document.set_pinned(learnt[-1], True)
        message = document.reset_memory(True)
        assert f"{len(learnt)} learnt frames dropped, 1 references kept" in message
        until(qtbot, document, lambda s: frames_of(s) == [0] and s.pinned_frames == ())
        assert document.project.pinned_frames == []
        document.undo_stack.undo()
        until(qtbot, document, lambda s: s.pinned_frames == (learnt[-1],))
        assert set(learnt) <= set(frames_of(document.memory_stats))  # type: ignore[arg-type]
        assert document.project.pinned_frames == [learnt[-1]]
        assert "references are written again" in document.reset_memory(False)
        until(qtbot, document, lambda s: frames_of(s) == [])
        document.undo_stack.undo()
        until(qtbot, document, lambda s: set(learnt) <= set(frames_of(s)))


def test_reseed_starts_the_run_it_announces(qtbot, no_thread_leaks, video: SyntheticVideo) -> None:
    with opened(qtbot, video.path) as (document, engine):
        propagated(qtbot, document, engine, video)
        with qtbot.waitSignal(engine.run_started, timeout=TIMEOUT) as started:
            message = document.reseed(6)
        assert message is not None and "propagating forward from frame 6 to 19" in message
        assert started.args == [6, 19, "forward"]
        with qtbot.waitSignal(engine.run_finished, timeout=TIMEOUT) as finished:
            pass
        assert finished.args == [True]
        assert document.reference_frames() == [0]  # the seed frame did not become a reference
        assert document.masks.source(6) == "propagated"
        texts = [document.undo_stack.text(i) for i in range(document.undo_stack.count())]
        assert texts[-2:] == ["Reseed from frame 6", "Propagate forward 6–19"]
