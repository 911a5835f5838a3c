"""Issue 24 in the real MainWindow: the memory dock follows the project on screen; its pin / evict /
reset buttons are undo steps that say what they did; "Mark reviewed" (V) and a key edit leave a
reviewed frame, drawn apart from the references on the timeline."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.controllers.settings import AppSettings
from app.main_window import MainWindow
from tests.app.window_helpers import (
    RUN_TIMEOUT_MS,
    Box,
    open_painted,
    open_propagated,
    open_ready,
    run_and_wait,
)
from vos_core import EntryKind


@pytest.fixture
def window(qtbot: object) -> Iterator[MainWindow]:
    """The real main window with the adaptation off (these tests are about memory, not learning)."""
    AppSettings(adapt=False).save()
    win = MainWindow()
    qtbot.addWidget(win)  # type: ignore[attr-defined]
    win.resize(1280, 800)
    win.show()
    qtbot.waitExposed(win)  # type: ignore[attr-defined]
    yield win
    win.close()


def status_text(window: MainWindow) -> str:
    return window.statusBar().currentMessage()


def test_the_memory_dock_follows_the_project_on_screen(
    qtbot: object,
    window: MainWindow,
    make_video: Callable[..., Path],
    stroke: Callable[..., None],
    square: Box,
) -> None:
    first, second = make_video(n=60, name="first.mp4"), make_video(n=12, name="second.mp4")
    open_painted(window, first, stroke, square)
    engine = window.controller.engine
    model = window.memory_panel.model
    window.actions.propagate_forward.trigger()
    qtbot.waitUntil(  # type: ignore[attr-defined]
        lambda: any(e.kind == EntryKind.WORKING for e in model.entries), timeout=RUN_TIMEOUT_MS
    )
    assert window.controller.running
    # File ▸ Open during the run: the dock shows the new video's memory (empty: nothing annotated)
    open_ready(window, second)
    assert model.entries == []
    qtbot.waitUntil(lambda: not engine.busy, timeout=RUN_TIMEOUT_MS)  # type: ignore[attr-defined]
    with qtbot.waitSignal(window.document.memory_changed, timeout=RUN_TIMEOUT_MS):  # type: ignore[attr-defined, union-attr]
        engine.request_memory()
    assert model.entries == [] and window.memory_panel.totals.text() == "Memory is empty"
    # closing the project clears it
    open_ready(window, first)  # its reference is encoded when a run starts
    window.presenter.go_to(0)
    run_and_wait(qtbot, window, window.actions.propagate_forward.trigger)
    assert model.entries
    window.controller.close_document()
    assert model.entries == [] and window.memory_panel.totals.text() == "Memory is empty"


def test_memory_buttons_are_undo_steps_that_say_what_they_did(
    qtbot: object, window: MainWindow, small_video: Path, stroke: Callable[..., None], square: Box
) -> None:
    document = open_propagated(qtbot, window, small_video, stroke, square)
    panel = window.memory_panel

    def row_of(frame: int, kind: EntryKind) -> int:
        stats = document.memory_stats
        assert stats is not None
        return next(e.id for e in stats.entries if e.frame == frame and e.kind == kind)

    working = next(e for e in panel.model.entries if e.kind == EntryKind.WORKING)
    assert panel.select_entry(working.id)
    panel.pin_button.click()
    assert f"Frame {working.frame} pinned" in status_text(window)
    assert window.actions.undo.text() == f"&Undo Pin frame {working.frame}"
    qtbot.waitUntil(lambda: any(e.pinned for e in panel.model.entries))  # type: ignore[attr-defined]
    window.actions.undo.trigger()
    qtbot.waitUntil(lambda: not any(e.pinned for e in panel.model.entries))  # type: ignore[attr-defined]
    assert document.project.pinned_frames == []

    # the reference: evicting it makes frame 0 an ordinary frame, visibly
    assert panel.select_entry(row_of(0, EntryKind.PERMANENT))
    panel.evict_button.click()
    assert "Frame 0 is no longer a reference" in status_text(window)
    assert 0 not in window.timeline.slider.references and 0 in window.timeline.slider.annotated
    assert window.actions.undo.text() == "&Undo Evict reference 0"
    qtbot.waitUntil(  # type: ignore[attr-defined]
        lambda: all(e.kind != EntryKind.PERMANENT for e in panel.model.entries)
    )
    window.actions.undo.trigger()
    assert document.is_reference(0)
    qtbot.waitUntil(lambda: 0 in window.timeline.slider.references)  # type: ignore[attr-defined]

    panel.reset_button.click()
    assert "Memory reset" in status_text(window) and "1 references kept" in status_text(window)
    qtbot.waitUntil(  # type: ignore[attr-defined]
        lambda: all(e.kind == EntryKind.PERMANENT for e in panel.model.entries)
    )
    window.actions.undo.trigger()
    qtbot.waitUntil(lambda: any(e.kind != EntryKind.PERMANENT for e in panel.model.entries))  # type: ignore[attr-defined]

    # reseed starts the run it announces
    window.presenter.go_to(5)
    with qtbot.waitSignal(window.controller.engine.run_finished, timeout=RUN_TIMEOUT_MS):  # type: ignore[attr-defined]
        window.actions.reseed.trigger()
        assert "propagating forward from frame 5 to 23" in status_text(window)
    assert window.errors == []


def test_mark_reviewed_and_a_key_edit_leave_reviewed_frames(
    qtbot: object, window: MainWindow, small_video: Path, stroke: Callable[..., None], square: Box
) -> None:
    document = open_propagated(qtbot, window, small_video, stroke, square)
    window.presenter.go_to(7)
    assert window.actions.mark_reviewed.shortcut().toString() == "V"
    qtbot.keyClick(window.canvas, Qt.Key.Key_V)  # type: ignore[attr-defined]
    assert document.review_state(7) == "reviewed" and "Frame 7 marked reviewed" in status_text(window)
    window.presenter.go_to(9)
    window.canvas.set_brush_size(3)
    stroke(window.canvas, [(2, 2), (3, 2)])  # a stray dab on a propagated frame
    assert document.review_state(9) == "reviewed"
    window.presenter.go_to(12)
    window.canvas.set_brush_size(8)
    x0, y0, x1, y1 = square(12)
    stroke(window.canvas, [(x1, y0 + 4), (x1 + 20, y0 + 4), (x1 + 20, y1 - 4)])  # a real correction
    assert document.review_state(12) == "corrected"
    window.presenter.refresh_marks()
    slider = window.timeline.slider
    assert slider.reviewed == {7, 9} and slider.references == {0, 12}
    # a new run keeps the reviewed masks as they are and learns only from the corrections
    before = {f: document.masks.get(f) for f in (7, 9)}
    window.presenter.go_to(0)
    run_and_wait(qtbot, window, window.actions.propagate_forward.trigger)
    for frame, labels in before.items():
        assert (document.masks.get(frame) == labels).all() and document.review_state(frame) == "reviewed"
    assert document.reviewed_frames() == [0, 7, 9, 12]
