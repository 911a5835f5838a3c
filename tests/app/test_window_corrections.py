"""The annotation loop in the real MainWindow: a correction updates both sides of itself with one key
("Update around correction", U), the status bar says what ran and how long it took, the timeline
marks the frames that changed, and one key (W) jumps to the worst frame not corrected yet."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from app.main_window import MainWindow
from app.views.help_dialogs import shortcut_rows
from tests.app.window_helpers import RUN_TIMEOUT_MS, Box, open_propagated


def propagated(
    qtbot: object, window: MainWindow, video: Path, stroke: Callable[..., None], square: Box
) -> None:
    """Open ``video``, paint frame 0 and propagate to the end; without the adaptation's refits
    (seconds each: these tests are about the loop, test_window_adapting.py about the refit)."""
    window.apply_settings(window.settings.with_(adapt=False))
    open_propagated(qtbot, window, video, stroke, square)


def test_a_correction_updates_both_sides_and_says_what_ran(
    qtbot: object,
    window: MainWindow,
    make_video: Callable[..., Path],
    stroke: Callable[..., None],
    square: Box,
) -> None:
    video = make_video(n=30)
    propagated(qtbot, window, video, stroke, square)
    document = window.document
    assert document is not None and document.masks.propagated_frames() == list(range(1, 30))
    message = window.statusBar().currentMessage()
    assert message.startswith("Propagated forward 0–29: 29 frames in ") and " s" in message
    assert window.timeline.slider.changed == [(1, 29)]

    # correct frame 15: a blob the object did not have (the mask now says it is part of it)
    before = {f: document.masks.get(f).copy() for f in range(1, 30)}
    window.presenter.go_to(15)
    for y in (10, 16, 22):
        stroke(window.canvas, [(6, y), (30, y)])
    assert document.masks.source(15) == "user"
    qtbot.waitUntil(lambda: 15 in window.timeline.slider.references)  # type: ignore[attr-defined]

    engine = window.controller.engine
    with qtbot.waitSignal(engine.run_started, timeout=RUN_TIMEOUT_MS) as started:  # type: ignore[attr-defined]
        with qtbot.waitSignal(engine.run_finished, timeout=RUN_TIMEOUT_MS):  # type: ignore[attr-defined]
            window.actions.update_around.trigger()
    assert started.args == [1, 29, "around"]  # from the frame after frame 0 to the end
    changed = [f for f in range(1, 30) if f != 15 and not np.array_equal(document.masks.get(f), before[f])]
    assert any(f < 15 for f in changed) and any(f > 15 for f in changed), changed  # both sides
    assert document.masks.source(15) == "user" and window.errors == []
    message = window.statusBar().currentMessage()
    assert message.startswith("Updated around frame 15, forward to 29") and "frames run" in message
    assert "backward to 1" in message
    assert " s" in message and "changed" in message
    marked = {f for first, last in window.timeline.slider.changed for f in range(first, last + 1)}
    assert marked == set(changed)
    assert document.undo_stack.undoText() == "Propagate around 1–29"  # one undo step


def test_jump_to_the_worst_frame_not_corrected_yet_and_update_around_it(
    qtbot: object, window: MainWindow, small_video: Path, stroke: Callable[..., None], square: Box
) -> None:
    rows = shortcut_rows(window.menuBar())  # what Help ▸ Keyboard shortcuts lists
    assert ("Propagate", "Update around correction", "U") in rows
    assert ("Propagate", "Go to worst frame", "W") in rows
    window.actions.jump_worst.trigger()  # nothing open yet: nothing happens
    propagated(qtbot, window, small_video, stroke, square)
    document = window.document
    assert document is not None
    quality = dict(document.confidence)
    predicted = {f: q for f, q in quality.items() if f != 0}
    assert len(predicted) == 23
    worst = min(predicted, key=lambda f: (predicted[f], f))
    window.actions.jump_worst.trigger()
    assert document.current_frame == worst and window.timeline.frame == worst
    assert "lowest estimated quality" in window.statusBar().currentMessage()

    # a predicted frame is no correction: nothing to update around it
    window.actions.update_around.trigger()
    assert window.errors and "is not a reference" in window.errors[-1]
    assert not window.controller.running
    window.errors.clear()

    # correct it: the next jump goes to the worst of the others
    stroke(window.canvas, [(6, 10), (20, 10)])
    assert document.masks.source(worst) == "user"
    window.actions.jump_worst.trigger()
    rest = {f: q for f, q in predicted.items() if f != worst}
    second = min(rest, key=lambda f: (rest[f], f))
    assert document.current_frame == second != worst
    # right already: marked reviewed (kept as it is, not a reference), the next jump skips it too
    window.actions.mark_reviewed.trigger()
    assert document.review_state(second) == "reviewed"
    window.actions.jump_worst.trigger()
    rest = {f: q for f, q in rest.items() if f != second}
    assert document.current_frame == min(rest, key=lambda f: (rest[f], f))
    assert window.errors == []
