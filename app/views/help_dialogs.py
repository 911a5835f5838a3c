"""Help menu content: the keyboard-shortcut sheet (read from the window's menus, so it always shows
the shortcuts actually bound) and the About box."""

from __future__ import annotations

from importlib import metadata

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QMenuBar,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.resources import APP_NAME


def shortcut_rows(bar: QMenuBar) -> list[tuple[str, str, str]]:
    """(menu path, action, keys) for every menu action with a shortcut, in menu order."""
    rows: list[tuple[str, str, str]] = []
    seen: set[int] = set()

    def walk(actions: list[QAction], path: str) -> None:
        for action in actions:
            menu = action.menu()
            title = action.text().replace("&", "")
            if menu is not None:
                walk(menu.actions(), f"{path} ▸ {title}" if path else title)
                continue
            native = QKeySequence.SequenceFormat.NativeText
            keys = ", ".join(k.toString(native) for k in action.shortcuts() if not k.isEmpty())
            if keys and id(action) not in seen:
                seen.add(id(action))
                rows.append((path, title.rstrip("…"), keys))

    walk(bar.actions(), "")
    return rows


class ShortcutSheet(QDialog):
    """A table of every keyboard shortcut, grouped by menu."""

    def __init__(self, bar: QMenuBar, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Keyboard shortcuts — {APP_NAME}")
        self.rows = shortcut_rows(bar)
        self.table = QTableWidget(len(self.rows), 3, self)
        self.table.setHorizontalHeaderLabels(["Menu", "Action", "Keys"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for row, values in enumerate(self.rows):
            for column, text in enumerate(values):
                self.table.setItem(row, column, QTableWidgetItem(text))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(560, 640)


def app_version() -> str:
    try:
        return metadata.version("vos-annotator")
    except metadata.PackageNotFoundError:
        return "development"


def about_box(parent: QWidget) -> QMessageBox:
    """A non-modal About box (the caller opens it)."""
    text = (
        f"<b>{APP_NAME}</b> {app_version()}<br><br>"
        "Annotate objects in video: paint a mask on any frame and a memory-based video object "
        "segmentation engine propagates it; correct frames, inspect the memory, export DAVIS masks."
        "<br><br>Help ▸ Keyboard shortcuts lists every key."
    )
    ok = QMessageBox.StandardButton.Ok
    box = QMessageBox(QMessageBox.Icon.Information, f"About {APP_NAME}", text, ok, parent)
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    return box
