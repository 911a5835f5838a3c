"""Small usability items of the main window (issue 12, item 7), each on the real MainWindow."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, QRect, Qt
from PySide6.QtGui import QAction, QColor, QFont, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFileDialog,
    QMessageBox,
    QProgressBar,
    QStyle,
    QStyleOptionProgressBar,
    QTableView,
)

from app.main_window import MainWindow
from app.views.dock_layout import DOCK_MIN, MIN_WINDOW
from tests.app.conftest import wait_until
from tests.app.window_helpers import Box, open_painted
from vos_core import MemoryStats, davis_palette
from vos_core.memory.entries import EntryInfo, EntryKind


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


def test_minimum_window_size(qtbot: object, window: MainWindow) -> None:
    window.resize(300, 200)
    QApplication.processEvents()
    assert window.width() >= MIN_WINDOW[0] and window.height() >= MIN_WINDOW[1]
    assert window.minimumWidth() >= MIN_WINDOW[0] and window.minimumHeight() >= MIN_WINDOW[1]


def test_squeezed_docks_are_not_restored_and_reset_layout(qtbot: object) -> None:
    first = MainWindow()
    qtbot.addWidget(first)  # type: ignore[attr-defined]
    first.resize(1280, 800)
    first.show()
    qtbot.waitExposed(first)  # type: ignore[attr-defined]
    for dock in (first.objects_dock, first.memory_dock):  # squeeze them as far as Qt lets a user
        dock.setMinimumWidth(1)
        dock.widget().setMinimumWidth(1)
    first.resizeDocks([first.objects_dock], [1], Qt.Orientation.Horizontal)
    QApplication.processEvents()
    assert first.objects_dock.width() < DOCK_MIN["objects"]
    first.close()  # saves the squeezed state
    second = MainWindow()
    qtbot.addWidget(second)  # type: ignore[attr-defined]
    second.resize(1280, 800)
    second.show()
    qtbot.waitExposed(second)  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: second.objects_dock.width() >= DOCK_MIN["objects"])  # type: ignore[attr-defined]
    # the user moves things around, then View ▸ Reset layout puts them back
    second.memory_dock.setFloating(True)
    second.plot_dock.hide()
    second.removeDockWidget(second.objects_dock)
    QApplication.processEvents()
    assert second.actions.reset_layout in second.actions.panels_menu.parent().actions()  # View menu
    second.actions.reset_layout.trigger()
    QApplication.processEvents()
    for dock, area in (
        (second.objects_dock, Qt.DockWidgetArea.RightDockWidgetArea),  # above the memory dock
        (second.memory_dock, Qt.DockWidgetArea.RightDockWidgetArea),
        (second.plot_dock, Qt.DockWidgetArea.BottomDockWidgetArea),
    ):
        assert dock.isVisible() and not dock.isFloating()
        assert second.dockWidgetArea(dock) == area
    assert second.objects_dock.width() >= DOCK_MIN["objects"]
    assert second.plot_dock.height() >= DOCK_MIN["plot"]
    second.close()


def test_help_menu_shortcut_sheet_and_about(qtbot: object, window: MainWindow) -> None:
    titles = [action.text().replace("&", "") for action in window.menuBar().actions()]
    assert titles[-1] == "Help"
    window.actions.next_frame.setShortcut(QKeySequence("Ctrl+Alt+K"))  # the sheet reads live bindings
    window.actions.shortcuts.trigger()
    sheet = window.shortcut_sheet
    qtbot.waitExposed(sheet)  # type: ignore[attr-defined]
    table = sheet.table
    rows = {
        (table.item(r, 1).text(), table.item(r, 2).text()) for r in range(table.rowCount())
    }
    native = QKeySequence.SequenceFormat.NativeText
    assert ("Propagate forward", QKeySequence("F5").toString(native)) in rows
    assert ("Next frame", QKeySequence("Ctrl+Alt+K").toString(native)) in rows
    keys = {action: text for action, text in rows}
    assert window.actions.undo.shortcut().toString(native) in keys["Undo"].split(", ")
    bound = {
        id(a) for a in window.findChildren(QAction)
        if not a.shortcut().isEmpty() and a.associatedObjects() and a.menu() is None
    }  # fmt: skip
    assert table.rowCount() == len(bound) > 30
    sheet.close()
    window.actions.about.trigger()
    about = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible())
    assert "VOS Annotator" in about.text()
    about.close()


def _click_row(qtbot: object, table: QTableView, row: int, double: bool = False) -> None:
    rect = table.visualRect(table.model().index(row, 0))
    if double:
        qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # type: ignore[attr-defined]
    else:
        qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # type: ignore[attr-defined]


def test_single_click_on_a_memory_row_jumps_to_its_frame(
    qtbot: object, window: MainWindow, small_video: Path
) -> None:
    assert window.open_path(small_video)
    wait_until(lambda: window.controller.attached)
    window.presenter.go_to(0)
    entries = (
        EntryInfo(1, 0, EntryKind.PERMANENT, False, 0.4, 0.1, 4, 0.25, 300_000, 1200),
        EntryInfo(2, 7, EntryKind.WORKING, False, 0.4, 0.1, 4, 0.25, 300_000, 1200),
        EntryInfo(3, 15, EntryKind.WORKING, False, 0.4, 0.1, 4, 0.25, 300_000, 1200),
    )
    window.memory_panel.set_stats(MemoryStats(entries, (8, 9), 0.3, 3 * 300_000))
    table = window.memory_panel.table
    QApplication.processEvents()
    row_of_7 = window.memory_panel.model.row_of(2)
    _click_row(qtbot, table, row_of_7)
    qtbot.waitUntil(lambda: window.document.current_frame == 7)  # type: ignore[attr-defined]
    # a double-click (press, release, double-click) still jumps
    row_of_15 = window.memory_panel.model.row_of(3)
    _click_row(qtbot, table, row_of_15)
    qtbot.waitUntil(lambda: window.document.current_frame == 15)  # type: ignore[attr-defined]
    window.presenter.go_to(3)
    assert window.document.current_frame == 3
    _click_row(qtbot, table, row_of_15, double=True)
    qtbot.waitUntil(lambda: window.document.current_frame == 15)  # type: ignore[attr-defined]


def _palette_png(path: Path, labels: np.ndarray) -> Path:
    image = Image.fromarray(labels, mode="P")
    image.putpalette(davis_palette().tobytes())
    image.save(path)
    return path


def test_import_a_single_png_mask(
    qtbot: object, window: MainWindow, small_video: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert window.open_path(small_video)
    wait_until(lambda: window.controller.attached)
    document = window.document
    assert document is not None and document.masks.frames() == []
    labels = np.zeros((120, 160), np.uint8)
    labels[40:80, 30:70] = 1
    chosen: list[str] = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (chosen[-1], "Mask images (*.png)"))
    # the name says the frame
    chosen.append(str(_palette_png(tmp_path / "00007.png", labels)))
    window.actions.import_mask.trigger()
    qtbot.waitUntil(lambda: document.masks.frames() == [7], timeout=30000)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(document.masks.get(7), labels)
    assert document.current_frame == 7
    # no number in the name: the frame on screen
    window.presenter.go_to(4)
    chosen.append(str(_palette_png(tmp_path / "mask.png", labels * 2)))
    window.actions.import_mask.trigger()
    qtbot.waitUntil(lambda: document.masks.frames() == [4, 7], timeout=30000)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(document.masks.get(4), labels * 2)
    document.undo_stack.undo()  # one undo step
    assert document.masks.frames() == [7]
    # a frame past the end is refused with a message, nothing changes
    chosen.append(str(_palette_png(tmp_path / "00099.png", labels)))
    window.actions.import_mask.trigger()
    qtbot.waitUntil(lambda: len(window.errors) == 1, timeout=30000)  # type: ignore[attr-defined]
    assert "frame 99" in window.errors[0] and document.masks.frames() == [7]


def test_default_object_colour_is_bright_and_exports_keep_davis_indices(
    qtbot: object, window: MainWindow, small_video: Path, stroke: Callable[..., None], square: Box
) -> None:
    document = open_painted(window, small_video, stroke, square)
    colour = QColor(document.objects.get(1).colour)
    assert colour.name() != "#800000"
    assert colour.valueF() >= 0.9 and colour.hsvSaturationF() >= 0.6  # bright and saturated
    shown = window.objects_panel.findChild(QAbstractItemView).model().index(0, 0)
    assert shown.data(Qt.ItemDataRole.DecorationRole).name() == colour.name()  # the swatch
    # the canvas paints the mask in that colour (Colour fill overlay blends it over the frame)
    image = window.canvas.grab().toImage()
    x0, y0, x1, y1 = square(0)
    centre = window.canvas.mapFromScene(QPointF((x0 + x1) / 2, (y0 + y1) / 2))
    pixel = image.pixelColor(centre.x(), centre.y())
    assert pixel.blue() > pixel.red()  # the painted red square now shows the cyan-ish display colour
    # the mask file keeps label 1 and the DAVIS palette (exports are unchanged)
    assert document.save()
    with Image.open(document.project.directory / "masks" / "00000.png") as png:
        assert png.mode == "P"
        assert 1 in np.unique(np.asarray(png))
        assert tuple(png.getpalette()[3:6]) == (128, 0, 0)
