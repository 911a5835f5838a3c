"""The real MainWindow while the engine learns from the masks: the status bar counts the refit's
steps, Stop (F8) ends the refit between two steps, and closing the window during a refit quits
cleanly (no "Still busy")."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.main_window import MainWindow
from tests.app.window_helpers import RUN_TIMEOUT_MS, Box, open_painted

#: a refit that cannot end by itself within a test (AppSettings.adapt_steps): only Stop or Quit end it
ENDLESS = 100_000


def _learning(qtbot: object, window: MainWindow, video: Path, stroke: Callable[..., None], square: Box):  # noqa: ANN202
    controller = window.controller
    controller.apply_settings(controller.settings.with_(adapt_steps=ENDLESS))  # before the video opens
    open_painted(window, video, stroke, square)
    engine = controller.engine
    steps: list[tuple[int, int, float]] = []
    engine.learning.connect(lambda *args: steps.append(args))
    window.actions.propagate_forward.trigger()
    qtbot.waitUntil(lambda: len(steps) >= 3, timeout=RUN_TIMEOUT_MS)  # type: ignore[attr-defined]
    return engine, steps


def test_stop_ends_the_refit_and_the_status_bar_counted_its_steps(
    qtbot: object, window: MainWindow, small_video: Path, stroke: Callable[..., None], square: Box
) -> None:
    engine, steps = _learning(qtbot, window, small_video, stroke, square)
    qtbot.waitUntil(lambda: "step" in window.status.fps.text(), timeout=RUN_TIMEOUT_MS)  # type: ignore[attr-defined]
    text = window.status.fps.text()
    assert text.startswith("Learning from your 1 mask… step ") and f"/ {ENDLESS}" in text and "left" in text
    assert window.status.progress.maximum() == ENDLESS
    frames: list[object] = []
    engine.frame_ready.connect(frames.append)
    with qtbot.waitSignal(engine.run_finished, timeout=RUN_TIMEOUT_MS) as finished:  # type: ignore[attr-defined]
        window.actions.stop.trigger()
    assert finished.args == [False] and steps[-1][0] < ENDLESS and frames == []
    assert not window.status.progress.isVisible() and window.errors == []


def test_closing_the_window_during_a_refit_quits_cleanly(
    qtbot: object, window: MainWindow, small_video: Path, stroke: Callable[..., None], square: Box
) -> None:
    _learning(qtbot, window, small_video, stroke, square)
    assert window.close()  # accepted: the refit ended at its next step and the engine thread joined
    assert not window.controller.has_engine and window.errors == []
