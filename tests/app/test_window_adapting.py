"""Before a run's first frame the engine's adaptation learns from the user's masks (seconds): the real
MainWindow says so in its status bar ("Learning from your N masks…", a busy bar), then shows the
usual progress; a run whose masks did not change says nothing of it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.main_window import MainWindow
from tests.app.window_helpers import RUN_TIMEOUT_MS, Box, open_painted, run_and_wait


def test_the_status_bar_says_it_learns_from_the_masks_before_the_first_frame(
    qtbot: object, window: MainWindow, small_video: Path, stroke: Callable[..., None], square: Box
) -> None:
    open_painted(window, small_video, stroke, square)
    engine = window.controller.engine
    status = window.status
    events: list[tuple[str, int, str, int, bool]] = []
    paused: list[bool] = []

    def record(kind: str, value: int) -> None:  # connected after the status panel: it has updated
        bar = status.progress
        events.append((kind, value, status.fps.text(), bar.maximum(), bar.isVisible()))

    def pause_once(*_: object) -> None:
        if not paused:
            paused.append(True)
            window.actions.pause.trigger()

    engine.adapting.connect(lambda masks: record("adapting", masks))
    engine.progress.connect(lambda done, *_: record("progress", done))
    engine.progress.connect(pause_once)
    with qtbot.waitSignal(engine.paused_changed, timeout=RUN_TIMEOUT_MS):  # type: ignore[attr-defined]
        window.actions.propagate_forward.trigger()
    # the refit was announced before the first frame, with a busy bar (no frame count yet)
    assert events[0] == ("adapting", 1, "Learning from your 1 mask…", 0, True)
    assert events[1][:2] == ("progress", 1)
    # then the usual progress: the bar counts the frames again (paused here, so it can be seen)
    qtbot.waitUntil(lambda: status.progress.maximum() == 23 and status.progress.value() >= 1)  # type: ignore[attr-defined]
    assert status.fps.text() == "paused"
    with qtbot.waitSignal(engine.run_finished, timeout=RUN_TIMEOUT_MS):  # type: ignore[attr-defined]
        window.actions.pause.trigger()  # resume
    assert [e[0] for e in events].count("adapting") == 1
    assert not status.progress.isVisible() and not status.fps.isVisible()

    # the same masks again: no refit, nothing announced
    events.clear()
    window.presenter.go_to(0)
    run_and_wait(qtbot, window, window.actions.propagate_forward.trigger)
    assert events and all(e[0] == "progress" for e in events)

    # a correction on frame 12 is a second mask: the next run learns from both
    window.presenter.go_to(12)
    stroke(window.canvas, [(5, 5), (15, 5)])
    events.clear()
    window.presenter.go_to(0)
    run_and_wait(qtbot, window, window.actions.propagate_forward.trigger)
    assert events[0] == ("adapting", 2, "Learning from your 2 masks…", 0, True)
    assert window.errors == []
