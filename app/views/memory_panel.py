"""Memory panel: the engine's memory bank as a table, with pin / evict / reset controls.

Columns keep their width; when the dock is too narrow for all of them, the thumbnail goes first,
then the size, then the use rate (their values stay in each row's tooltip), so that at the default
layout of a 1280-px-wide window every value column is visible."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.resources import KIND_NAMES, icon
from app.views.memory_model import (
    COL_CONTRIB,
    COL_FRAME,
    COL_KIND,
    COL_SIZE,
    COL_THUMB,
    COL_USAGE,
    COLUMNS,
    PIN_ICON,
    ContributionRole,
    MemoryTableModel,
    human_bytes,
    kind_key,
)
from app.views.thumbnails import ThumbnailCache
from vos_core import MemoryStats

_Index = QModelIndex | QPersistentModelIndex
OPTIONAL_COLUMNS = (COL_THUMB, COL_SIZE, COL_USAGE)  # hidden in this order when the panel is too narrow
THUMB_WIDTH = 56  # px: thumbnails are scaled to fit this width


class _BarDelegate(QStyledItemDelegate):
    """Draws a contribution (0..1) as a horizontal bar with its percentage."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        super().paint(painter, option, index)
        value = index.data(ContributionRole)
        if value is None:
            return
        rect: QRect = option.rect.adjusted(4, 8, -4, -8)
        painter.save()
        painter.fillRect(rect, QColor("#e3e6ea"))
        filled = QRect(rect.x(), rect.y(), round(rect.width() * max(0.0, min(1.0, value))), rect.height())
        painter.fillRect(filled, QColor("#ef6c00"))
        painter.setPen(QColor("#202020"))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, f"{value * 100:.0f}%")
        painter.restore()


def _bold(font: QFont) -> QFont:
    bold = QFont(font)
    bold.setBold(True)
    return bold


class MemoryPanel(QWidget):
    """Shows ``MemoryStats``; user actions are emitted as requests for the engine."""

    pin_requested = Signal(int, bool)  # entry id, pinned
    evict_requested = Signal(int)
    reset_requested = Signal(bool)  # keep permanent
    frame_activated = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumbnails = ThumbnailCache(parent=self)
        self.model = MemoryTableModel(self.thumbnails, self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setItemDelegateForColumn(COL_CONTRIB, _BarDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setIconSize(QSize(THUMB_WIDTH, self.thumbnails.height))
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.thumbnails.height + 6)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        self._widths = self._column_widths()
        for col, width in self._widths.items():
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Fixed)
            self.table.setColumnWidth(col, width)
        header.setSectionResizeMode(COL_CONTRIB, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(28)
        self.table.clicked.connect(self._on_row_clicked)  # a click on a row shows its frame
        self.table.doubleClicked.connect(self._on_row_clicked)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.model.modelAboutToBeReset.connect(self._remember_selection)
        self.model.modelReset.connect(self._restore_selection)
        self._selected_id: int | None = None

        self.pin_button = self._button("pin", "Pin", "Pinned entries are never consolidated or evicted")
        self.evict_button = self._button("evict", "Evict", "Remove the selected entry from memory")
        self.reset_button = self._button("reset", "Reset", "Clear working and long-term memory")
        self.reset_all_button = self._button("reset", "Reset all", "Clear all memory, permanent too")
        self.pin_button.clicked.connect(self._pin)
        self.evict_button.clicked.connect(self._evict)
        self.reset_button.clicked.connect(lambda: self.reset_requested.emit(True))
        self.reset_all_button.clicked.connect(lambda: self.reset_requested.emit(False))
        self.totals = QLabel("Memory is empty", self)
        self.totals.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        for b in (self.pin_button, self.evict_button, self.reset_button, self.reset_all_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.totals)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self._update_buttons()

    def _button(self, icon_name: str, text: str, tip: str) -> QToolButton:
        button = QToolButton(self)  # a tool button: as wide as its text, so the dock can stay narrow
        button.setIcon(icon(icon_name))
        button.setText(text)
        button.setToolTip(tip)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        return button

    def _column_widths(self) -> dict[int, int]:
        """Fixed columns as wide as their widest text (header or value) and a little padding."""
        plain, bold = self.table.fontMetrics(), QFontMetrics(_bold(self.table.font()))
        pad = 10

        def fit(*texts: str, metrics: QFontMetrics = plain) -> int:
            return max(metrics.horizontalAdvance(t) for t in texts) + pad

        return {
            COL_FRAME: fit(COLUMNS[COL_FRAME], "00000"),
            COL_THUMB: self.table.iconSize().width() + 6,
            COL_KIND: max(fit(COLUMNS[COL_KIND]), fit(*KIND_NAMES.values(), metrics=bold) + PIN_ICON + 4),
            COL_USAGE: fit(COLUMNS[COL_USAGE], "0.000"),
            COL_SIZE: fit(COLUMNS[COL_SIZE], "00.0 MB"),
        }

    def _columns_width(self, hidden: tuple[int, ...] = ()) -> int:
        """Width the columns need (the contribution bar as wide as its header), but ``hidden``."""
        fixed = sum(w for col, w in self._widths.items() if col not in hidden)
        return fixed + self.table.fontMetrics().horizontalAdvance(COLUMNS[COL_CONTRIB]) + 10

    def _chrome_width(self) -> int:
        """Width around the columns: vertical scroll bar, table frame, panel margins."""
        margins = self.layout().contentsMargins()
        scroll = self.table.verticalScrollBar().sizeHint().width()
        return scroll + 2 * self.table.frameWidth() + margins.left() + margins.right()

    def content_width(self) -> int:
        """Width that shows every column beside the vertical scroll bar: the dock's natural width."""
        return self._columns_width() + self._chrome_width()

    def _fit_columns(self) -> None:
        """Hide the columns of least use (thumbnail, size, use rate) while the panel is too narrow for
        every column; their values stay in each row's tooltip."""
        room = self.width() - self._chrome_width()
        hidden: tuple[int, ...] = ()
        for col in OPTIONAL_COLUMNS:
            if self._columns_width(hidden) <= room:
                break
            hidden += (col,)
        for col in OPTIONAL_COLUMNS:
            self.table.setColumnHidden(col, col in hidden)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_columns()

    def sizeHint(self) -> QSize:
        return QSize(self.content_width(), 320)

    # ------------------------------------------------------------------ data
    def set_frame_reader(self, reader: Callable[[int], np.ndarray] | None) -> None:
        self.thumbnails.set_reader(reader)
        self.model.set_stats(None)
        self.totals.setText("Memory is empty")

    def set_stats(self, stats: MemoryStats | None) -> None:
        self.model.set_stats(stats)
        self.totals.setText(self._totals_text(stats))
        self._update_buttons()

    def set_contributions(self, contributions: dict[int, float] | None) -> None:
        self.model.set_contributions(contributions)

    @staticmethod
    def _totals_text(stats: MemoryStats | None) -> str:
        if stats is None or not stats.entries:
            return "Memory is empty"
        counts: dict[str, int] = {}
        for e in stats.entries:
            counts[kind_key(e)] = counts.get(kind_key(e), 0) + 1
        parts = [
            f"{counts[k]} {n}"
            for k, n in (("permanent", "permanent"), ("working", "working"), ("long_term", "long-term"))
            if counts.get(k)
        ]
        recent = ", ".join(str(f) for f in stats.recent_frames) or "none"
        return (
            f"<b>{len(stats.entries)} entries</b> ({', '.join(parts)}) · "
            f"<b>{human_bytes(stats.total_bytes)}</b> · recent frames: {recent}"
        )

    # ------------------------------------------------------------------ selection
    def selected_entry_id(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        entry = self.model.entry(rows[0].row())
        return None if entry is None else entry.id

    def select_entry(self, entry_id: int) -> bool:
        row = self.model.row_of(entry_id)
        if row < 0:
            return False
        self.table.selectRow(row)
        return True

    def _remember_selection(self) -> None:
        self._selected_id = self.selected_entry_id()

    def _restore_selection(self) -> None:
        if self._selected_id is not None:
            self.select_entry(self._selected_id)
        self._update_buttons()

    def _update_buttons(self) -> None:
        entry_id = self.selected_entry_id()
        entry = None if entry_id is None else self.model.entry(self.model.row_of(entry_id))
        self.pin_button.setEnabled(entry is not None)
        self.evict_button.setEnabled(entry is not None)
        self.pin_button.setText("Unpin" if entry is not None and entry.pinned else "Pin")
        has_entries = bool(self.model.entries)
        self.reset_button.setEnabled(has_entries)
        self.reset_all_button.setEnabled(has_entries)

    # ------------------------------------------------------------------ actions
    def _pin(self) -> None:
        entry_id = self.selected_entry_id()
        if entry_id is None:
            return
        entry = self.model.entry(self.model.row_of(entry_id))
        if entry is not None:
            self.pin_requested.emit(entry_id, not entry.pinned)

    def _evict(self) -> None:
        entry_id = self.selected_entry_id()
        if entry_id is not None:
            self.evict_requested.emit(entry_id)

    def _on_row_clicked(self, index: QModelIndex) -> None:
        entry = self.model.entry(index.row())
        if entry is not None:
            self.frame_activated.emit(entry.frame)
