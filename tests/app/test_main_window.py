"""The real MainWindow, offscreen, with the real engine on small generated videos: painting,
propagating (stop, finish, edits while it runs, a responsive GUI), references, memory and undo.
Files, errors and input are in ``test_main_window_files.py``."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt, QTimer

from app.main_window import MainWindow
from app.views.tools import ToolKind
from tests.app.window_helpers import (
    RUN_TIMEOUT_MS,
    Box,
    centre_of,
    open_propagated,
    open_ready,
    paint_square,
    run_and_wait,
)
from vos_core.memory.entries import EntryKind


def test_open_paint_propagate_stop_and_finish(
    qtbot: object,
    window: MainWindow,
    make_video: Callable[..., Path],
    stroke: Callable[..., None],
    square: Box,
) -> None:
    video = make_video(n=40, width=320, height=240)
    open_ready(window, video)
    paint_square(window, stroke, square, 0, scale=2)
    document = window.document
    assert document is not None and document.frame_count == 40
    labels = document.masks.get(0)
    assert labels is not None and document.masks.source(0) == "user"
    x0, y0, x1, y1 = square(0, 320, 240)
    inside = (labels[y0:y1, x0:x1] == 1).mean()
    assert inside > 0.9 and (labels == 1).sum() < 1.3 * (x1 - x0) * (y1 - y0)
    assert document.undo_stack.count() >= 3  # one command per stroke

    # propagate, and stop as soon as the first frame arrives
    engine = window.controller.engine
    engine.progress.connect(window.actions.stop.trigger)
    with qtbot.waitSignal(engine.run_finished, timeout=RUN_TIMEOUT_MS) as finished:  # type: ignore[attr-defined]
        window.actions.propagate_forward.trigger()
    engine.progress.disconnect(window.actions.stop.trigger)
    assert finished.args == [False]
    stopped_at = max(document.masks.propagated_frames())
    assert 0 < stopped_at < 39 and window.errors == []
    qtbot.waitUntil(lambda: document.current_frame == stopped_at)  # type: ignore[attr-defined]

    # then to the end, from where it stopped
    run_and_wait(qtbot, window, window.actions.propagate_forward.trigger)
    assert document.masks.propagated_frames() == list(range(1, 40))
    assert document.current_frame == 39  # the view followed the run
    for frame in (5, 20, 30):  # the mask follows the square
        got = document.masks.get(frame)
        assert got is not None and (got == 1).any()
        bx0, by0, bx1, by1 = square(frame, 320, 240)
        cx, cy = centre_of(got)
        assert abs(cx - (bx0 + bx1) / 2) < 12 and abs(cy - (by0 + by1) / 2) < 12, frame
    qtbot.waitUntil(lambda: window.timeline.slider.propagated == [(1, 39)])  # type: ignore[attr-defined]
    assert window.timeline.slider.annotated == [0]
    assert window.errors == []


def test_correct_reference_pin_evict_and_undo(
    qtbot: object, window: MainWindow, small_video: Path, stroke: Callable[..., None], square: Box
) -> None:
    document = open_propagated(qtbot, window, small_video, stroke, square)
    panel = window.memory_panel
    qtbot.waitUntil(lambda: panel.model.rowCount() >= 3)  # type: ignore[attr-defined]

    def permanent_frames() -> list[int]:
        return [e.frame for e in panel.model.entries if e.kind == EntryKind.PERMANENT]

    # correct frame 15: it is a reference at once ("Use as reference" is checked on it), and the
    # next run writes it as a permanent entry
    window.presenter.go_to(15)
    # a propagated frame: not a reference, but it can be made one as it is (issue 24)
    assert window.actions.use_reference.isEnabled() and not window.actions.use_reference.isChecked()
    before = document.masks.get(15).copy()
    stroke(window.canvas, [(5, 5), (15, 5)])
    assert document.masks.source(15) == "user" and not np.array_equal(document.masks.get(15), before)
    assert window.actions.use_reference.isEnabled() and window.actions.use_reference.isChecked()
    qtbot.waitUntil(lambda: 15 in window.timeline.slider.references)  # type: ignore[attr-defined]
    window.presenter.go_to(0)
    run_and_wait(qtbot, window, window.actions.propagate_forward.trigger)
    qtbot.waitUntil(lambda: 15 in permanent_frames())  # type: ignore[attr-defined]
    assert permanent_frames() == [0, 15]

    # Ctrl+M on frame 15 makes it "not a reference": its permanent entry goes, the mark changes
    window.presenter.go_to(15)
    window.actions.use_reference.trigger()
    assert not window.actions.use_reference.isChecked()
    assert document.project.not_references == {15} and 15 not in window.timeline.slider.references
    assert 15 in window.timeline.slider.annotated  # still a user frame: a hollow mark
    qtbot.waitUntil(lambda: permanent_frames() == [0])  # type: ignore[attr-defined]
    window.actions.use_reference.trigger()
    assert window.actions.use_reference.isChecked() and document.project.not_references == set()

    # pin a working entry through the panel, then evict another
    working = [e for e in panel.model.entries if e.kind == EntryKind.WORKING]
    assert len(working) >= 2
    panel.select_entry(working[0].id)
    panel.pin_button.click()
    qtbot.waitUntil(lambda: any(e.id == working[0].id and e.pinned for e in panel.model.entries))  # type: ignore[attr-defined]
    assert document.project.pinned_frames == [working[0].frame]
    panel.select_entry(working[1].id)
    panel.evict_button.click()
    qtbot.waitUntil(lambda: all(e.id != working[1].id for e in panel.model.entries))  # type: ignore[attr-defined]
    assert "entries" in panel.totals.text()

    # the pin and the eviction are undo steps of their own (issue 24): undo both
    assert document.undo_stack.undoText() == f"Evict frame {working[1].frame}"
    window.actions.undo.trigger()
    assert document.undo_stack.undoText() == f"Pin frame {working[0].frame}"
    window.actions.undo.trigger()
    assert document.project.pinned_frames == []

    # undo the second run, undo the correction and redo it; undo the first run as one step
    assert document.undo_stack.undoText().startswith("Propagate")
    window.actions.undo.trigger()  # the second run
    corrected = document.masks.get(15).copy()
    window.actions.undo.trigger()
    np.testing.assert_array_equal(document.masks.get(15), before)
    assert document.masks.source(15) == "propagated"
    window.actions.redo.trigger()
    np.testing.assert_array_equal(document.masks.get(15), corrected)
    window.actions.undo.trigger()  # the correction
    window.actions.undo.trigger()  # the first propagation run
    assert document.masks.propagated_frames() == []
    assert document.masks.get(0) is not None
    assert window.errors == []


def test_edit_another_frame_while_propagating(
    qtbot: object,
    window: MainWindow,
    make_video: Callable[..., Path],
    stroke: Callable[..., None],
    square: Box,
) -> None:
    open_ready(window, make_video(n=40, width=320, height=240))
    paint_square(window, stroke, square, 0, scale=2)
    document = window.document
    assert document is not None and window.presenter.follow
    engine = window.controller.engine
    edited: list[np.ndarray] = []

    def edit_frame_35(*_: object) -> None:
        if edited:
            return
        window.presenter.go_to(35)  # by hand: stops following the run
        stroke(window.canvas, [(20, 200), (60, 200)])
        edited.append(document.masks.get(35).copy())

    engine.progress.connect(edit_frame_35)
    run_and_wait(qtbot, window, window.actions.propagate_forward.trigger)
    engine.progress.disconnect(edit_frame_35)
    assert not window.presenter.follow and not window.actions.follow.isChecked()
    assert document.current_frame == 35
    assert document.masks.source(35) == "user"  # the run did not overwrite the edit
    np.testing.assert_array_equal(document.masks.get(35), edited[0])
    assert document.masks.propagated_frames() == [f for f in range(1, 40) if f != 35]


def test_gui_stays_responsive_while_propagating(
    qtbot: object,
    window: MainWindow,
    make_video: Callable[..., Path],
    stroke: Callable[..., None],
    square: Box,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Requirement: the GUI never blocks for more than 100 ms, also while the engine runs."""
    video = make_video(n=40, width=320, height=240, name="bigger.mp4")
    open_ready(window, video)
    x0, y0, x1, y1 = (v * 2 for v in square(0))
    window.canvas.set_tool(ToolKind.POLYGON)
    for x, y in [(x0, y0), (x1, y0), (x1, y1)]:
        qtbot.mouseClick(
            window.canvas.viewport(), Qt.MouseButton.LeftButton, pos=window.canvas.mapFromScene(QPointF(x, y))
        )  # type: ignore[attr-defined]
    qtbot.mouseDClick(
        window.canvas.viewport(), Qt.MouseButton.LeftButton, pos=window.canvas.mapFromScene(QPointF(x0, y1))
    )  # type: ignore[attr-defined]
    assert window.document.masks.get(0) is not None
    qtbot.wait(300)  # let the first frame and panels settle  # type: ignore[attr-defined]

    def max_gap_ms(until: Callable[[], bool]) -> tuple[float, int]:
        """Largest interval between ticks of a 10 ms timer until ``until()`` holds."""
        gaps: list[float] = []
        last = [time.perf_counter()]

        def tick() -> None:
            now = time.perf_counter()
            gaps.append(now - last[0])
            last[0] = now

        timer = QTimer()
        timer.setInterval(10)
        timer.timeout.connect(tick)
        last[0] = time.perf_counter()
        timer.start()
        qtbot.waitUntil(until, timeout=RUN_TIMEOUT_MS)  # type: ignore[attr-defined]
        timer.stop()
        return max(gaps, default=0.0) * 1000, len(gaps)

    # The CPU is shared: the OS alone can delay an idle event loop. A blocking GUI thread shows in
    # every run, a busy machine does not, so the best of up to three runs is judged.
    idle_end = time.perf_counter() + 2.0
    idle, _ = max_gap_ms(lambda: time.perf_counter() > idle_end)
    runs: list[float] = []
    for _ in range(3):
        with qtbot.waitSignal(window.controller.engine.run_started, timeout=RUN_TIMEOUT_MS):  # type: ignore[attr-defined]
            window.presenter.go_to(0)
            window.actions.propagate_forward.trigger()
        worst, ticks = max_gap_ms(lambda: not window.controller.running)
        runs.append(worst)
        with capsys.disabled():
            print(f"\n[responsiveness] run {len(runs)}: {ticks} ticks, max gap {worst:.1f} ms "
                  f"(idle event loop on this machine: {idle:.1f} ms)")  # fmt: skip
        if worst < 100.0:
            break
    assert len(window.document.masks.propagated_frames()) == 39
    assert min(runs) < 100.0
