"""``ObjectListModel``: the list of annotated objects as a Qt list model (no widgets).

Roles: ``DisplayRole``/``EditRole`` -> name (editable), ``DecorationRole`` -> ``QColor`` swatch,
``CheckStateRole`` -> visible,
``ToolTipRole`` -> "id N", plus ``IdRole`` (int), ``ColourRole`` ("#rrggbb"), ``VisibleRole`` (bool)
and ``InfoRole`` (:class:`ObjectInfo`). Changes are announced with the usual model signals and,
for convenience, ``objects_changed()``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor

from app.model.object_info import (
    MAX_OBJECT_ID,
    MIN_OBJECT_ID,
    ObjectInfo,
    check_object_id,
    default_colour,
    default_name,
    hex_to_rgb,
    is_hex_colour,
)

__all__ = ["ObjectInfo", "ObjectListModel", "default_colour", "default_name", "hex_to_rgb"]

_Index = QModelIndex | QPersistentModelIndex


class ObjectListModel(QAbstractListModel):
    """Objects in display order; ids 1..255 are unique."""

    IdRole = Qt.ItemDataRole.UserRole + 1
    ColourRole = Qt.ItemDataRole.UserRole + 2
    VisibleRole = Qt.ItemDataRole.UserRole + 3
    InfoRole = Qt.ItemDataRole.UserRole + 4

    objects_changed = Signal()

    def __init__(self, objects: list[ObjectInfo] | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._items: list[ObjectInfo] = []
        if objects:
            self.set_objects(objects)
        for name in ("rowsInserted", "rowsRemoved", "dataChanged", "modelReset", "rowsMoved"):
            getattr(self, name).connect(self.objects_changed)

    # ------------------------------------------------------------------ Qt model API
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        info = self._items[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return info.name
        if role == Qt.ItemDataRole.CheckStateRole:
            return Qt.CheckState.Checked if info.visible else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.DecorationRole:
            return QColor(info.colour)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{info.name} (id {info.id})"
        return {
            self.IdRole: info.id,
            self.ColourRole: info.colour,
            self.VisibleRole: info.visible,
            self.InfoRole: info,
        }.get(role)

    def setData(self, index: _Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return False
        object_id = self._items[index.row()].id
        if role == Qt.ItemDataRole.EditRole and isinstance(value, str) and value.strip():
            self.rename(object_id, value.strip())
            return True
        if role == Qt.ItemDataRole.CheckStateRole:
            checked = value in (Qt.CheckState.Checked, Qt.CheckState.Checked.value, True)
            self.set_visible(object_id, checked)
            return True
        if role == self.ColourRole and is_hex_colour(value):
            self.recolour(object_id, value)
            return True
        return False

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemIsEditable
            | Qt.ItemFlag.ItemIsUserCheckable
        )

    def roleNames(self) -> dict[int, bytes]:  # noqa: N802
        names = dict(super().roleNames())
        names.update(
            {
                self.IdRole: b"objectId",
                self.ColourRole: b"colour",
                self.VisibleRole: b"visible",
                self.InfoRole: b"info",
            }
        )
        return names

    # ------------------------------------------------------------------ queries
    def objects(self) -> list[ObjectInfo]:
        return list(self._items)

    def ids(self) -> list[int]:
        return [info.id for info in self._items]

    def visible_ids(self) -> list[int]:
        return [info.id for info in self._items if info.visible]

    def get(self, object_id: int) -> ObjectInfo | None:
        row = self.row_of(object_id)
        return None if row < 0 else self._items[row]

    def row_of(self, object_id: int) -> int:
        """Row of an object, -1 when absent."""
        for row, info in enumerate(self._items):
            if info.id == object_id:
                return row
        return -1

    def object_at(self, row: int) -> ObjectInfo:
        return self._items[row]

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, object_id: object) -> bool:
        return any(info.id == object_id for info in self._items)

    def next_free_id(self) -> int:
        """Smallest unused id; raises ``ValueError`` when all 255 are taken."""
        used = set(self.ids())
        for object_id in range(MIN_OBJECT_ID, MAX_OBJECT_ID + 1):
            if object_id not in used:
                return object_id
        raise ValueError(f"all {MAX_OBJECT_ID} object ids are in use")

    def colour_table(self, visible_only: bool = False) -> dict[int, tuple[int, int, int]]:
        """``{id: (r, g, b)}`` for drawing overlays."""
        return {info.id: info.rgb for info in self._items if info.visible or not visible_only}

    # ------------------------------------------------------------------ changes
    def add(
        self, name: str | None = None, colour: str | None = None, object_id: int | None = None
    ) -> ObjectInfo:
        """Append a new object (next free id, default name and DAVIS colour unless given)."""
        new_id = self.next_free_id() if object_id is None else check_object_id(object_id)
        return self.insert(ObjectInfo.new(new_id, name, colour))

    def insert(self, info: ObjectInfo, row: int | None = None) -> ObjectInfo:
        """Insert an existing :class:`ObjectInfo` (e.g. on undo) at ``row`` (default: the end)."""
        if info.id in self:
            raise ValueError(f"an object with id {info.id} already exists")
        row = len(self._items) if row is None else max(0, min(row, len(self._items)))
        self.beginInsertRows(QModelIndex(), row, row)
        self._items.insert(row, info)
        self.endInsertRows()
        return info

    def ensure(self, object_id: int) -> ObjectInfo:
        """The object with this id, added with defaults if missing (e.g. found in an imported mask)."""
        existing = self.get(object_id)
        return existing if existing is not None else self.add(object_id=object_id)

    def remove(self, object_id: int) -> ObjectInfo:
        row = self._row_or_raise(object_id)
        self.beginRemoveRows(QModelIndex(), row, row)
        info = self._items.pop(row)
        self.endRemoveRows()
        return info

    def rename(self, object_id: int, name: str) -> None:
        self._update(object_id, name=str(name))

    def recolour(self, object_id: int, colour: str) -> None:
        if not is_hex_colour(colour):
            raise ValueError(f"colour must be '#rrggbb', got {colour!r}")
        self._update(object_id, colour=colour.lower())

    def set_visible(self, object_id: int, visible: bool) -> None:
        self._update(object_id, visible=bool(visible))

    def hide(self, object_id: int) -> None:
        self.set_visible(object_id, False)

    def show(self, object_id: int) -> None:
        self.set_visible(object_id, True)

    def set_objects(self, objects: list[ObjectInfo]) -> None:
        """Replace the whole list (model reset)."""
        ids = [info.id for info in objects]
        if len(set(ids)) != len(ids):
            raise ValueError("object ids must be unique")
        self.beginResetModel()
        self._items = list(objects)
        self.endResetModel()

    def _row_or_raise(self, object_id: int) -> int:
        row = self.row_of(object_id)
        if row < 0:
            raise KeyError(f"no object with id {object_id}")
        return row

    def _update(self, object_id: int, **changes: Any) -> None:
        row = self._row_or_raise(object_id)
        updated = replace(self._items[row], **changes)
        if updated == self._items[row]:
            return
        self._items[row] = updated
        index = self.index(row, 0)
        self.dataChanged.emit(index, index, [])
