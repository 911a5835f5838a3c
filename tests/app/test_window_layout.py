"""The default layout gives the canvas most of the window (issue 12, item 7): the docks sit in one
right-hand column as wide as the memory table needs (at most a share of the window) and a short plot
below the canvas; a saved layout and View ▸ Reset layout give the same."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication

from app.main_window import MainWindow
from app.views.dock_layout import SIDE_MAX, SIDE_SHARE
from app.views.memory_model import COL_CONTRIB, COL_FRAME, COL_KIND, COL_SIZE, COL_THUMB, COL_USAGE
from tests.app.conftest import wait_until

SIZES = [(1600, 1000), (1280, 800), (1920, 1080)]
RIGHT = Qt.DockWidgetArea.RightDockWidgetArea


def _layout(window: MainWindow) -> tuple[int, int, int]:
    """(canvas width, right-hand column width, plot height)."""
    QApplication.processEvents()
    return window.canvas.width(), window.memory_dock.width(), window.plot_dock.height()


def _open(window: MainWindow, video: Path) -> None:
    assert window.open_path(video)
    wait_until(lambda: window.controller.attached)
    QApplication.processEvents()


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_canvas_gets_most_of_the_window_width(
    qtbot: object, window: MainWindow, make_video: object, width: int, height: int
) -> None:
    _open(window, make_video(n=8, width=854, height=480))  # type: ignore[operator]
    window.resize(width, height)
    window.reset_layout()  # the default layout for this window size
    qtbot.waitUntil(lambda: window.width() == width and window.height() == height)  # type: ignore[attr-defined]
    canvas, side, plot = _layout(window)
    assert canvas >= 0.70 * width, f"canvas {canvas} px of {width}"
    assert side <= max(SIDE_SHARE * width, window.memory_panel.minimumSizeHint().width()) + 2
    assert plot <= 0.2 * height
    for dock in (window.objects_dock, window.memory_dock):  # one column, both visible (not tabbed)
        assert window.dockWidgetArea(dock) == RIGHT and dock.isVisible() and not dock.isFloating()
        assert dock.maximumWidth() == SIDE_MAX
    assert window.objects_dock.geometry().bottom() < window.memory_dock.geometry().top()
    assert window.objects_dock.height() < window.memory_dock.height()
    # the memory table shows every value column whole (use rate and size too: issue 24), with no
    # horizontal scrolling; only the thumbnail may give way in a narrow window
    table = window.memory_panel.table
    assert not table.horizontalScrollBar().isVisible()
    for col in (COL_FRAME, COL_KIND, COL_USAGE, COL_SIZE, COL_CONTRIB):
        assert not table.isColumnHidden(col), col
    assert width < 1600 or not table.isColumnHidden(COL_THUMB)
    assert table.columnWidth(COL_CONTRIB) >= table.fontMetrics().horizontalAdvance("Share")
    # the frame is shown large: it fills the canvas in one direction
    shown = window.canvas.mapFromScene(window.canvas.sceneRect()).boundingRect()
    assert shown.width() >= 0.95 * canvas or shown.height() >= 0.95 * window.canvas.height()


def test_first_show_sizes_the_docks_for_the_window(qtbot: object, window: MainWindow) -> None:
    """The shared fixture shows a fresh window at 1280×800: no saved layout, so the default."""
    canvas, side, _plot = _layout(window)
    assert canvas >= 0.70 * window.width()
    assert side == window.default_dock_sizes()[0]


def _new_window(qtbot: object, width: int, height: int) -> MainWindow:
    win = MainWindow()
    qtbot.addWidget(win)  # type: ignore[attr-defined]
    win.resize(width, height)
    win.show()
    qtbot.waitExposed(win)  # type: ignore[attr-defined]
    return win


def test_saved_layout_and_reset_layout_give_the_default(qtbot: object, small_video: Path) -> None:
    first = _new_window(qtbot, 1600, 1000)
    default = _layout(first)
    assert default[0] >= 0.70 * 1600
    first.close()  # saves geometry and dock state
    second = _new_window(qtbot, 1600, 1000)
    qtbot.waitUntil(lambda: second.width() == 1600)  # type: ignore[attr-defined]
    restored = _layout(second)
    assert all(abs(a - b) <= 2 for a, b in zip(restored, default, strict=True)), (restored, default)
    _open(second, small_video)
    # the user rearranges everything, then View ▸ Reset layout
    second.memory_dock.setFloating(True)
    second.removeDockWidget(second.objects_dock)
    second.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, second.objects_dock)
    second.objects_dock.show()
    second.resizeDocks([second.objects_dock], [450], Qt.Orientation.Horizontal)
    second.resizeDocks([second.plot_dock], [400], Qt.Orientation.Vertical)
    QApplication.processEvents()
    moved = _layout(second)
    assert moved[2] > default[2] + 100 and second.objects_dock.width() >= 440, (moved, default)
    second.actions.reset_layout.trigger()
    after = _layout(second)
    assert all(abs(a - b) <= 2 for a, b in zip(after, default, strict=True)), (after, default)
    assert second.dockWidgetArea(second.objects_dock) == RIGHT
    second.close()


def test_a_layout_saved_by_the_old_version_is_not_restored(qtbot: object) -> None:
    """States saved before this layout (version 0: objects on the left, a 480-px memory dock)
    would bring the squeezed canvas back; they are ignored and the default is used."""
    old = _new_window(qtbot, 1600, 1000)
    old.removeDockWidget(old.objects_dock)
    old.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, old.objects_dock)
    old.objects_dock.show()
    old.resizeDocks([old.objects_dock, old.memory_dock], [200, 480], Qt.Orientation.Horizontal)
    QApplication.processEvents()
    store = QSettings()
    store.setValue("window/geometry", old.saveGeometry())
    store.setValue("window/state", old.saveState())  # version 0, as the old code saved it
    old.hide()
    fresh = _new_window(qtbot, 1600, 1000)
    assert fresh.dockWidgetArea(fresh.objects_dock) == RIGHT
    assert _layout(fresh)[0] >= 0.70 * 1600
    fresh.close()
    old.close()
