"""Small usability items of the main window (issue 12, item 7), each on the real MainWindow."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QRect
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QProgressBar, QStyle, QStyleOptionProgressBar

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


def _progress_label_rect(bar: QProgressBar) -> QRect:
    option = QStyleOptionProgressBar()
    bar.initStyleOption(option)
    return bar.style().subElementRect(QStyle.SubElement.SE_ProgressBarLabel, option, bar)


@pytest.mark.parametrize("pixel_size", [12, 64])
def test_progress_text_is_not_clipped(qtbot: object, window: MainWindow, pixel_size: int) -> None:
    font = QFont(window.font())
    font.setPixelSize(pixel_size)
    window.statusBar().setFont(font)
    window.status.progress.setFont(font)
    window._on_running(True)
    window.status.run_progress(15, 299, 4.0, 70.0)
    bar = window.status.progress
    qtbot.waitUntil(lambda: bar.value() == 15)  # type: ignore[attr-defined]
    QApplication.processEvents()
    assert bar.text() == "15 / 299"
    needed = bar.fontMetrics().horizontalAdvance("299 / 299")  # the longest text of this run
    assert bar.width() >= needed
    assert _progress_label_rect(bar).width() >= needed
    window._on_running(False)
