"""ObjectListModel and ObjectInfo."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex, Qt

from app.model.object_info import ObjectInfo, default_colour
from app.model.objects import ObjectListModel


def test_add_many_objects_with_palette_colours(qtbot) -> None:
    model = ObjectListModel()
    with qtbot.waitSignal(model.rowsInserted):
        first = model.add()
    assert first == ObjectInfo(1, "Object 1", default_colour(1), True)
    for _ in range(24):
        model.add()
    assert model.rowCount() == 25 and model.ids() == list(range(1, 26))
    assert model.get(2).colour == default_colour(2) and model.get(25).colour == default_colour(25)
    named = model.add("person", "#ABCDEF")
    assert named.id == 26 and named.colour == "#abcdef"
    assert len({info.colour for info in model.objects()}) == 26


def test_rename_recolour_hide_remove(qtbot) -> None:
    model = ObjectListModel([ObjectInfo.new(3), ObjectInfo.new(5)])
    with qtbot.waitSignal(model.dataChanged):
        model.rename(5, "dog")
    model.recolour(3, "#FF0000")
    model.hide(5)
    assert model.get(5) == ObjectInfo(5, "dog", default_colour(5), False)
    assert model.get(3).colour == "#ff0000"
    assert model.visible_ids() == [3]
    assert model.colour_table(visible_only=True) == {3: (255, 0, 0)}
    assert model.next_free_id() == 1
    with qtbot.waitSignal(model.rowsRemoved):
        removed = model.remove(3)
    assert removed.id == 3 and model.ids() == [5]
    with pytest.raises(KeyError):
        model.rename(3, "gone")
    with pytest.raises(ValueError):
        model.recolour(5, "blue")
    with pytest.raises(ValueError):
        model.insert(ObjectInfo.new(5))


def test_qt_roles_and_editing(qtbot) -> None:
    model = ObjectListModel([ObjectInfo.new(1, "cat")])
    index = model.index(0, 0)
    assert model.data(index) == "cat"
    assert model.data(index, ObjectListModel.IdRole) == 1
    assert model.data(index, ObjectListModel.ColourRole) == default_colour(1)
    assert model.data(index, Qt.ItemDataRole.DecorationRole).name() == default_colour(1)
    assert model.data(index, Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    assert model.data(model.index(4, 0)) is None
    assert model.flags(index) & Qt.ItemFlag.ItemIsEditable
    assert model.setData(index, "tiger")
    assert model.setData(index, Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    assert model.get(1) == ObjectInfo(1, "tiger", default_colour(1), False)
    assert not model.setData(index, "   ")
    assert model.rowCount(index) == 0 and model.rowCount(QModelIndex()) == 1


def test_id_limits(qtbot) -> None:
    model = ObjectListModel()
    model.set_objects([ObjectInfo.new(i) for i in range(1, 256)])
    with pytest.raises(ValueError, match="in use"):
        model.add()
    with pytest.raises(ValueError):
        ObjectInfo.new(256)
    with pytest.raises(ValueError):
        model.set_objects([ObjectInfo.new(1), ObjectInfo.new(1)])
    assert model.ensure(7).id == 7


def test_object_json_round_trip() -> None:
    info = ObjectInfo(9, "bike", "#0a0b0c", visible=False)
    assert ObjectInfo.from_json(info.to_json()) == info
    assert ObjectInfo.from_json({"id": 2, "name": "x", "colour": "#000000"}).visible
    for bad in ([], {"id": 1}, {"id": True, "name": "x", "colour": "#000000"}):
        with pytest.raises(ValueError):
            ObjectInfo.from_json(bad)
