"""The real MainWindow, offscreen, with the real engine on small generated videos: export, import
and reopen, closing, errors shown to the user, dropping a video, hotkeys, settings, the command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from app.main import parse_args
from app.main_window import MainWindow
from app.views.export_dialog import ExportOptions
from tests.app.window_helpers import RUN_TIMEOUT_MS, Box, open_painted, open_ready, paint_square, run_and_wait


def test_export_import_round_trip_and_reopen(
    qtbot: object,
    window: MainWindow,
    small_video: Path,
    stroke: Callable[..., None],
    square: Box,
    tmp_path: Path,
) -> None:
    document = open_painted(window, small_video, stroke, square)
    run_and_wait(qtbot, window, window.actions.propagate_next.trigger)  # no later annotation: to the end
    document.add_object("Second")
    window.presenter.go_to(3)
    window.objects_panel.select_row(1)
    stroke(window.canvas, [(100, 10), (140, 10)])
    original = {f: document.masks.get(f).copy() for f in document.masks.frames()}
    sources = {f: document.masks.source(f) for f in original}
    assert len(original) == 24 and (original[3] == 2).any() and (original[0] == 1).any()

    exporter = window.files.exporter
    with qtbot.waitSignal(exporter.finished, timeout=RUN_TIMEOUT_MS):  # type: ignore[attr-defined]
        assert exporter.start(document, ExportOptions(str(tmp_path / "davis"), per_object=True))
    assert len(list((tmp_path / "davis" / "Annotations").rglob("*.png"))) == 24

    # import into a fresh project of the same video: the same masks (an empty mask reads as none)
    assert window.open_path(small_video, tmp_path / "other_project")
    imported_doc = window.document
    assert imported_doc is not None and imported_doc.masks.frames() == []
    expected = sorted(f for f, labels in original.items() if labels.any())
    window.files.import_folder(tmp_path / "davis")
    qtbot.waitUntil(lambda: imported_doc.masks.frames() == expected, timeout=30000)  # type: ignore[attr-defined]
    for frame, labels in original.items():
        got = imported_doc.masks.get(frame)
        np.testing.assert_array_equal(got if got is not None else np.zeros_like(labels), labels)
    assert sorted(imported_doc.objects.ids()) == [1, 2]
    imported_doc.undo_stack.undo()  # the import is one undo step
    assert imported_doc.masks.frames() == []

    # reopen the first project: masks, sources, objects and the current frame are back
    assert window.open_path(small_video)
    reopened = window.document
    assert reopened is not None
    assert reopened.current_frame == 3 and window.timeline.frame == 3
    assert [o.name for o in reopened.objects.objects()] == ["Object 1", "Second"]
    for frame, labels in original.items():
        np.testing.assert_array_equal(reopened.masks.get(frame), labels)
        assert reopened.masks.source(frame) == sources[frame]
    assert window.errors == []


def test_close_flushes_and_a_new_window_finds_everything(
    qtbot: object, small_video: Path, stroke: Callable[..., None], square: Box
) -> None:
    first = MainWindow()
    qtbot.addWidget(first)  # type: ignore[attr-defined]
    first.show()
    open_painted(first, small_video, stroke, square)
    labels = first.document.masks.get(0).copy()
    first.close()
    assert first.document is None and not first.controller.has_engine
    second = MainWindow()
    qtbot.addWidget(second)  # type: ignore[attr-defined]
    second.show()
    assert second.open_path(small_video)
    np.testing.assert_array_equal(second.document.masks.get(0), labels)
    np.testing.assert_array_equal(second.canvas.labels, labels)
    second.close()


def test_errors_are_shown_and_the_app_keeps_running(
    qtbot: object,
    window: MainWindow,
    small_video: Path,
    tmp_path: Path,
    stroke: Callable[..., None],
    square: Box,
) -> None:
    bogus = tmp_path / "broken.mp4"
    bogus.write_bytes(b"this is not a video")
    assert not window.open_path(bogus)
    assert len(window.errors) == 1 and window.document is None
    assert window.findChild(QMessageBox) is not None
    assert not window.open_path(tmp_path / "missing.mkv")
    assert len(window.errors) == 2
    open_ready(window, small_video)
    window.presenter.go_to(5)
    window.actions.propagate_forward.trigger()  # frame 5 has no mask
    assert "no mask" in window.errors[-1]
    window.controller.engine.failed.emit("Simulated engine failure")
    assert window.errors[-1] == "Simulated engine failure"
    paint_square(window, stroke, square, 5)
    run_and_wait(qtbot, window, window.actions.propagate_forward.trigger)
    assert window.document.masks.propagated_frames() == list(range(6, 24))


def test_drop_a_video_and_object_hotkeys(
    qtbot: object,
    window: MainWindow,
    small_video: Path,
    stroke: Callable[..., None],
    square: Box,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(small_video))])
    action = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(
        QPointF(50, 50), action, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        QPointF(50, 50), action, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(window, drop)
    document = window.document
    assert document is not None and document.frame_count == 24
    window.files.fill_recent_menu(window.actions.recent_menu)
    assert [a.toolTip() for a in window.actions.recent_menu.actions()] == [str(small_video.resolve())]
    for _ in range(2):
        window.actions.add_object.trigger()
    assert document.objects.ids() == [1, 2, 3]
    window.actions.select_object[1].trigger()  # key "2"
    assert window.objects_panel.active_object == 2 and window.canvas.active_object == 2
    assert "Object 2" in window.status.object.text()
    stroke(window.canvas, [(60, 20), (90, 20)])
    assert (document.masks.get(0) == 2).any()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    window.objects_panel.delete()
    assert document.objects.ids() == [1, 3] and not (document.masks.get(0) == 2).any()
    window.actions.undo.trigger()
    assert document.objects.ids() == [1, 2, 3] and (document.masks.get(0) == 2).any()


def test_settings_apply_and_persist(window: MainWindow) -> None:
    from app.controllers.settings import AppSettings

    window.apply_settings(window.settings.with_(overlay_mode="contour", low_confidence=0.9, memory_every=2))
    assert window.canvas.overlay_mode.value == "contour"
    assert window.actions.overlays[window.canvas.overlay_mode].isChecked()
    assert window.plot_panel.threshold_line.value() == 0.9
    assert AppSettings.load().memory_every == 2


def test_command_line() -> None:
    args = parse_args(["clip.mp4", "--project", "somewhere"])
    assert (args.path, args.project) == ("clip.mp4", "somewhere")
    assert parse_args([]).path is None
