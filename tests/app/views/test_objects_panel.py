"""Objects panel over the real ObjectListModel."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QColorDialog, QLineEdit, QMessageBox

from app.model.objects import ObjectListModel
from app.views.objects_panel import ObjectsPanel


@pytest.fixture
def panel(qtbot: object) -> tuple[ObjectsPanel, ObjectListModel]:
    model = ObjectListModel()
    for _ in range(22):
        model.add()
    widget = ObjectsPanel()
    qtbot.addWidget(widget)  # type: ignore[attr-defined]
    widget.set_model(model)
    widget.resize(240, 400)
    widget.show()
    return widget, model


def test_many_objects_and_selection_by_row(panel: tuple[ObjectsPanel, ObjectListModel]) -> None:
    widget, model = panel
    active: list[int] = []
    widget.active_changed.connect(active.append)
    assert widget.view.model().rowCount() == 22 and widget.active_object == 1
    assert widget.select_row(9) and widget.active_object == 10 and active[-1] == 10
    assert widget.select_object(21) and widget.active_object == 21
    assert not widget.select_row(40)


def test_visibility_checkbox_and_swatch(panel: tuple[ObjectsPanel, ObjectListModel]) -> None:
    widget, model = panel
    index = model.index(2, 0)
    model.setData(index, Qt.CheckState.Unchecked, Qt.ItemDataRole.CheckStateRole)
    assert 3 not in model.visible_ids()
    assert index.data(ObjectListModel.ColourRole).startswith("#")


def test_rename_goes_through_a_request(qtbot: object, panel: tuple[ObjectsPanel, ObjectListModel]) -> None:
    widget, model = panel
    widget.select_row(1)
    with qtbot.waitSignal(widget.rename_requested) as blocker:  # type: ignore[attr-defined]
        widget.rename()
        editor = widget.view.findChild(QLineEdit)
        assert editor is not None
        editor.setText("Dog")
        qtbot.keyClick(editor, Qt.Key.Key_Return)  # type: ignore[attr-defined]
    assert blocker.args == [2, "Dog"]
    assert model.get(2).name == "Object 2"  # the owner applies it (undoable)


def test_delete_asks_first(
    monkeypatch: pytest.MonkeyPatch, qtbot: object, panel: tuple[ObjectsPanel, ObjectListModel]
) -> None:
    widget, _ = panel
    deleted: list[int] = []
    widget.delete_requested.connect(deleted.append)
    widget.select_row(4)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    widget.delete()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    widget.delete()
    assert deleted == [5]


def test_recolour(monkeypatch: pytest.MonkeyPatch, panel: tuple[ObjectsPanel, ObjectListModel]) -> None:
    from PySide6.QtGui import QColor

    widget, _ = panel
    colours: list[tuple[int, str]] = []
    widget.recolour_requested.connect(lambda i, c: colours.append((i, c)))
    monkeypatch.setattr(QColorDialog, "getColor", lambda *a, **k: QColor("#123456"))
    widget.recolour()
    assert colours == [(1, "#123456")]
