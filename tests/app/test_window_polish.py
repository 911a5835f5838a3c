"""Small usability items of the main window (issue 12, item 7), each on the real MainWindow."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.main_window import MainWindow


@pytest.fixture
def window(qtbot: object) -> Iterator[MainWindow]:
    win = MainWindow()
    qtbot.addWidget(win)  # type: ignore[attr-defined]
    win.resize(1280, 800)
    win.show()
    qtbot.waitExposed(win)  # type: ignore[attr-defined]
    yield win
    win.close()


def test_pause_shows_paused_not_fps_until_resumed(qtbot: object, window: MainWindow) -> None:
    window._on_running(True)
    window.status.run_progress(15, 299, 4.0, 70.0)
    qtbot.waitUntil(lambda: "fps" in window.status.fps.text())  # type: ignore[attr-defined]
    window._on_paused(True)
    assert window.actions.pause.isChecked()
    # progress reports that arrive after the pause (frames already in flight) keep "paused"
    window.status.run_progress(16, 299, 3.0, 90.0)
    qtbot.wait(600)  # type: ignore[attr-defined]
    assert window.status.fps.text() == "paused"
    assert window.status.fps.isVisible()
    window._on_paused(False)
    assert window.status.fps.text() != "paused"
    window.status.run_progress(17, 299, 4.0, 60.0)
    qtbot.waitUntil(lambda: "fps" in window.status.fps.text())  # type: ignore[attr-defined]
    window._on_running(False)
