"""Table model of the engine's memory bank: one row per entry (``EntryInfo``). A pinned entry shows a
pin beside its kind (no column of its own, so that the use rate and size fit a narrow dock)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, QSize, Qt
from PySide6.QtGui import QFont

from app.resources import KIND_COLOURS, KIND_NAMES, icon
from app.views.thumbnails import ThumbnailCache
from vos_core import EntryInfo, MemoryStats

_Index = QModelIndex | QPersistentModelIndex

COLUMNS = ("Frame", "", "Kind", "Use rate", "Size", "Share")
(COL_FRAME, COL_THUMB, COL_KIND, COL_USAGE, COL_SIZE, COL_CONTRIB) = range(len(COLUMNS))
PIN_ICON = 14  # px: the pin drawn beside a pinned entry's kind
ContributionRole = Qt.ItemDataRole.UserRole + 1
EntryIdRole = Qt.ItemDataRole.UserRole + 2

_TIPS = {
    COL_THUMB: "The frame this entry was made from",
    COL_KIND: "Permanent: given or corrected masks · working: recent predictions · "
    "long-term: compressed older entries · a pin: pinned (never consolidated or evicted by the policy)",
    COL_USAGE: "Mean share of attention per readout: low values are evicted first",
    COL_SIZE: "Memory this entry takes",
    COL_CONTRIB: "Contribution: share of the readout of the frame on screen that came from this entry",
}


def human_bytes(n: int) -> str:
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n / (1024 * 1024):.1f} MB"


def kind_key(info: EntryInfo) -> str:
    return getattr(info.kind, "value", str(info.kind))


class MemoryTableModel(QAbstractTableModel):
    """Entries of the latest ``MemoryStats``; contributions are for the frame on screen."""

    def __init__(self, thumbnails: ThumbnailCache, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.entries: list[EntryInfo] = []
        self.contributions: dict[int, float] | None = None
        thumbnails.ready.connect(self._on_thumbnail)

    def set_stats(self, stats: MemoryStats | None) -> None:
        """Update in place when the same entries are listed, else reset (cheap: thumbnails are cached)."""
        entries = list(stats.entries) if stats is not None else []
        if [e.id for e in entries] == [e.id for e in self.entries]:
            self.entries = entries
            if entries:
                self.dataChanged.emit(self.index(0, 0), self.index(len(entries) - 1, len(COLUMNS) - 1))
            return
        self.beginResetModel()
        self.entries = entries
        self.endResetModel()

    def set_contributions(self, contributions: dict[int, float] | None) -> None:
        """Entry id -> share of the readout of the frame on screen (None: unknown)."""
        self.contributions = contributions
        if self.entries:
            self.dataChanged.emit(self.index(0, COL_CONTRIB), self.index(len(self.entries) - 1, COL_CONTRIB))

    def entry(self, row: int) -> EntryInfo | None:
        return self.entries[row] if 0 <= row < len(self.entries) else None

    def row_of(self, entry_id: int) -> int:
        for row, e in enumerate(self.entries):
            if e.id == entry_id:
                return row
        return -1

    def _on_thumbnail(self, frame: int) -> None:
        for row, e in enumerate(self.entries):
            if e.frame == frame:
                index = self.index(row, COL_THUMB)
                self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])

    # ------------------------------------------------------------------ Qt API
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.entries)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return _TIPS.get(section)
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        e = self.entry(index.row()) if index.isValid() else None
        if e is None:
            return None
        col = index.column()
        if role == EntryIdRole:
            return e.id
        if role == ContributionRole and col == COL_CONTRIB:
            return None if self.contributions is None else self.contributions.get(e.id, 0.0)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(e, col)
        if role == Qt.ItemDataRole.DecorationRole:
            if col == COL_THUMB:
                return self.thumbnails.get(e.frame)
            if col == COL_KIND and e.pinned:  # a pixmap keeps its size (the view's icons are big)
                return icon("pin").pixmap(PIN_ICON, PIN_ICON)
        if role == Qt.ItemDataRole.ForegroundRole and col == COL_KIND:
            return KIND_COLOURS.get(kind_key(e))
        if role == Qt.ItemDataRole.FontRole and col == COL_KIND:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (COL_FRAME, COL_USAGE, COL_SIZE):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(e)
        if role == Qt.ItemDataRole.SizeHintRole and col == COL_THUMB:
            return QSize(76, self.thumbnails.height + 4)
        return None

    def _text(self, e: EntryInfo, col: int) -> str | None:
        if col == COL_FRAME:
            return str(e.frame)
        if col == COL_KIND:
            return KIND_NAMES.get(kind_key(e), kind_key(e))
        if col == COL_USAGE:
            return f"{e.usage_rate:.3f}"
        if col == COL_SIZE:
            return human_bytes(e.nbytes)
        return None

    def _tooltip(self, e: EntryInfo) -> str:
        return (
            f"Entry {e.id} · frame {e.frame} · {KIND_NAMES.get(kind_key(e), kind_key(e))}"
            f"{' · pinned' if e.pinned else ''}\n"
            f"{e.reads} readouts, use rate {e.usage_rate:.3f}, {e.n_pixels} pixels, {human_bytes(e.nbytes)}\n"
            "Double-click to go to the frame"
        )
