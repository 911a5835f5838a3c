"""Objects panel: the objects of the project with a colour swatch, name and visibility checkbox, and
the active object (the one the tools paint)."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, QPoint, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QColorDialog,
    QHBoxLayout,
    QLineEdit,
    QListView,
    QMenu,
    QMessageBox,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.model.objects import ObjectListModel
from app.resources import icon

_Index = QModelIndex | QPersistentModelIndex


def swatch(colour: str, size: int = 16) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QColor("#202020"))
    painter.setBrush(QColor(colour))
    painter.drawRoundedRect(1, 1, size - 2, size - 2, 3, 3)
    painter.end()
    return QIcon(pixmap)


class _ObjectDelegate(QStyledItemDelegate):
    """Draws the colour swatch; a finished rename goes through ``panel.rename_requested``."""

    def __init__(self, panel: ObjectsPanel) -> None:
        super().__init__(panel)
        self._panel = panel

    def initStyleOption(self, option: QStyleOptionViewItem, index: _Index) -> None:
        super().initStyleOption(option, index)
        colour = index.data(ObjectListModel.ColourRole)
        if colour:
            option.features |= QStyleOptionViewItem.ViewItemFeature.HasDecoration
            option.icon = swatch(colour)
            option.decorationSize = QSize(16, 16)
        object_id = index.data(ObjectListModel.IdRole)
        if object_id is not None:
            option.text = f"{option.text}   #{object_id}"

    def setEditorData(self, editor: QWidget, index: _Index) -> None:
        if isinstance(editor, QLineEdit):
            editor.setText(index.data(Qt.ItemDataRole.EditRole) or "")
        else:
            super().setEditorData(editor, index)

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: _Index) -> None:
        if isinstance(editor, QLineEdit):
            name = editor.text().strip()
            object_id = index.data(ObjectListModel.IdRole)
            if name and object_id is not None and name != index.data(Qt.ItemDataRole.EditRole):
                self._panel.rename_requested.emit(int(object_id), name)
            return
        super().setModelData(editor, model, index)


class ObjectsPanel(QWidget):
    """List of objects. Changes that must be undoable are asked for through signals."""

    active_changed = Signal(int)  # object id, 0 when there is none
    add_requested = Signal()
    delete_requested = Signal(int)
    rename_requested = Signal(int, str)
    recolour_requested = Signal(int, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model: ObjectListModel | None = None
        self.view = QListView(self)
        self.view.setItemDelegate(_ObjectDelegate(self))
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.view.setUniformItemSizes(True)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.view.setToolTip(
            "Objects: the selected one is painted by the tools (keys 1–9, 0 pick the first ten). "
            "Double-click to rename, untick to hide."
        )
        self.add_button = self._button("add", "Add an object", self.add_requested.emit)
        self.colour_button = self._button("colour", "Change the colour of the active object", self.recolour)
        self.delete_button = self._button("delete", "Delete the active object (asks first)", self.delete)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        for button in (self.add_button, self.colour_button, self.delete_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons)
        self._update_buttons()

    def _button(self, icon_name: str, tip: str, slot: object) -> QToolButton:
        button = QToolButton(self)
        button.setIcon(icon(icon_name))
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    def sizeHint(self) -> QSize:
        return QSize(220, 200)

    # ------------------------------------------------------------------ model
    def set_model(self, model: ObjectListModel | None) -> None:
        if self._model is not None:
            self._model.objects_changed.disconnect(self._on_objects_changed)
        self._model = model
        self.view.setModel(model)
        if model is not None:
            model.objects_changed.connect(self._on_objects_changed)
            self.view.selectionModel().currentChanged.connect(self._on_current)
            if len(model):
                self.select_row(0)
        self._on_objects_changed()

    @property
    def active_object(self) -> int:
        index = self.view.currentIndex()
        if self._model is None or not index.isValid():
            return 0
        return int(index.data(ObjectListModel.IdRole))

    def select_row(self, row: int) -> bool:
        """Make the object in ``row`` active (hotkeys 1..9, 0)."""
        if self._model is None or not 0 <= row < len(self._model):
            return False
        self.view.setCurrentIndex(self._model.index(row, 0))
        return True

    def select_object(self, object_id: int) -> bool:
        if self._model is None:
            return False
        return self.select_row(self._model.row_of(object_id))

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._update_buttons()
        self.active_changed.emit(self.active_object)

    def _on_objects_changed(self) -> None:
        if self._model is not None and len(self._model) and not self.view.currentIndex().isValid():
            self.select_row(len(self._model) - 1)
        self._update_buttons()
        self.active_changed.emit(self.active_object)

    def _update_buttons(self) -> None:
        has = self.active_object != 0
        self.add_button.setEnabled(self._model is not None)
        self.colour_button.setEnabled(has)
        self.delete_button.setEnabled(has)

    # ------------------------------------------------------------------ actions
    def recolour(self) -> None:
        object_id = self.active_object
        if self._model is None or not object_id:
            return
        info = self._model.get(object_id)
        if info is None:
            return
        colour = QColorDialog.getColor(QColor(info.colour), self, f"Colour of {info.name}")
        if colour.isValid():
            self.recolour_requested.emit(object_id, colour.name())

    def delete(self) -> None:
        object_id = self.active_object
        if self._model is None or not object_id:
            return
        info = self._model.get(object_id)
        name = info.name if info else f"object {object_id}"
        answer = QMessageBox.question(
            self,
            "Delete object",
            f"Delete “{name}” and its masks on every frame?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.delete_requested.emit(object_id)

    def rename(self) -> None:
        index = self.view.currentIndex()
        if index.isValid():
            self.view.edit(index)

    def toggle_visible(self) -> None:
        object_id = self.active_object
        if self._model is not None and object_id:
            info = self._model.get(object_id)
            if info is not None:
                self._model.set_visible(object_id, not info.visible)

    def _context_menu(self, pos: QPoint) -> None:
        if self.active_object == 0:
            return
        menu = QMenu(self)
        menu.addAction("Rename", self.rename)
        menu.addAction(icon("colour"), "Colour…", self.recolour)
        menu.addAction("Show / hide", self.toggle_visible)
        menu.addSeparator()
        menu.addAction(icon("delete"), "Delete…", self.delete)
        menu.exec(self.view.viewport().mapToGlobal(pos))
