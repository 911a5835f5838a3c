"""Bad inputs through the real ``MainWindow`` (offscreen): an error dialog each time, and the app
keeps running. ``QMessageBox`` is replaced by a recorder, so no dialog can block the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

import app.main_window as main_window_module
from app.main_window import MainWindow
from app.model.document import Document
from tests.app.conftest import wait_until
from tests.reliability import corpus


class RecordingBox:
    """Stands in for ``QMessageBox`` in ``MainWindow.show_error``: records instead of showing."""

    Icon = QMessageBox.Icon
    StandardButton = QMessageBox.StandardButton
    shown: list[tuple[str, str]] = []

    def __init__(self, _icon: object, title: str, text: str, *_args: object) -> None:
        RecordingBox.shown.append((title, text))

    def setAttribute(self, *_args: object) -> None:  # noqa: N802 - Qt API
        pass

    def open(self) -> None:
        pass


@pytest.fixture
def window(qtbot, monkeypatch: pytest.MonkeyPatch) -> Iterator[MainWindow]:
    RecordingBox.shown = []
    monkeypatch.setattr(main_window_module, "QMessageBox", RecordingBox)
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()


def make_project(video: Path, damage: Callable[[Path], None] | None = None) -> None:
    document = Document.open(video)
    document.add_object("square")
    document.edit_mask(0, corpus.first_mask())
    assert document.save()
    json_path = document.project.json_path
    document.close()
    if damage is not None:
        damage(json_path)


def test_bad_files_show_an_error_and_the_app_keeps_running(window: MainWindow, tmp_path: Path) -> None:
    newer = corpus.good_video(tmp_path, name="newer.mp4")
    make_project(newer, corpus.make_project_newer)
    corrupt = corpus.good_video(tmp_path, name="corrupt.mp4")
    make_project(corrupt, corpus.make_project_corrupt)
    cases = {
        corpus.zero_byte_video(tmp_path): "empty (0 bytes)",
        corpus.text_named_mp4(tmp_path): "not a readable video",
        corpus.mixed_size_folder(tmp_path): "same size",
        newer: "newer version",
        corrupt: "is corrupt",
    }
    for count, (path, text) in enumerate(cases.items(), start=1):
        before = corpus.snapshot(tmp_path)
        assert not window.open_path(path)
        assert len(RecordingBox.shown) == count and window.document is None
        title, message = RecordingBox.shown[-1]
        assert title == "Cannot open" and text in message and "\n" not in message
        assert window.errors[-1] == message
        assert corpus.snapshot(tmp_path) == before  # nothing written, nothing changed
    # still running: a good video opens (with its corrupt mask set aside and reported)
    good = corpus.good_video(tmp_path, name="good.mp4")
    make_project(good)
    mask = good.parent / "good.vosproj" / "masks" / "00000.png"
    mask.write_bytes(mask.read_bytes()[:30])
    assert window.open_path(good)
    wait_until(lambda: window.controller.attached)
    title, message = RecordingBox.shown[-1]
    assert title == "Opened with problems" and "00000.png" in message
    # more objects than the palette holds: refused with a dialog, not an exception in a slot
    document = window.document
    assert document is not None
    while len(document.objects) < 255:
        document.add_object()
    window.actions.add_object.trigger()
    title, message = RecordingBox.shown[-1]
    assert title == "Cannot add an object" and "255" in message
    assert len(document.objects) == 255 and window.isVisible()
