"""Memory panel: rows per entry, in-place updates, cached thumbnails, requests."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.views.memory_model import COL_KIND, COL_SIZE, COL_THUMB, COL_USAGE, ContributionRole
from app.views.memory_panel import COL_CONTRIB, MemoryPanel
from vos_core import MemoryStats
from vos_core.memory.entries import EntryInfo, EntryKind


def entry(entry_id: int, frame: int, kind: EntryKind, pinned: bool = False, rate: float = 0.1) -> EntryInfo:
    return EntryInfo(entry_id, frame, kind, pinned, rate * 4, rate, 4, 0.25, 300_000, 1200)


def stats(*entries: EntryInfo) -> MemoryStats:
    return MemoryStats(tuple(entries), (8, 9), 0.3, sum(e.nbytes for e in entries))


@pytest.fixture
def panel(qtbot: object) -> tuple[MemoryPanel, list[int]]:
    widget = MemoryPanel()
    qtbot.addWidget(widget)  # type: ignore[attr-defined]
    reads: list[int] = []

    def reader(frame: int) -> np.ndarray:
        reads.append(frame)
        return np.full((120, 160, 3), frame * 10 % 255, np.uint8)

    widget.set_frame_reader(reader)
    widget.resize(520, 300)
    widget.show()
    return widget, reads


def test_rows_text_and_totals(qtbot: object, panel: tuple[MemoryPanel, list[int]]) -> None:
    widget, reads = panel
    widget.set_stats(stats(entry(1, 0, EntryKind.PERMANENT), entry(2, 5, EntryKind.WORKING, pinned=True),
                           entry(3, 10, EntryKind.LONG_TERM)))  # fmt: skip
    model = widget.model
    assert model.rowCount() == 3
    assert model.index(0, COL_KIND).data() == "permanent"
    assert model.index(2, COL_KIND).data() == "long-term"
    assert model.index(1, COL_USAGE).data() == "0.100"
    assert model.index(1, COL_SIZE).data() == "293 KB"
    assert model.index(1, COL_KIND).data(Qt.ItemDataRole.DecorationRole) is not None  # the pin
    assert model.index(0, COL_KIND).data(Qt.ItemDataRole.DecorationRole) is None
    assert "3 entries" in widget.totals.text() and "8, 9" in widget.totals.text()
    qtbot.waitUntil(lambda: sorted(reads) == [0, 5, 10])  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: model.index(2, COL_THUMB).data(Qt.ItemDataRole.DecorationRole) is not None)  # type: ignore[attr-defined]


def test_updates_in_place_and_keeps_thumbnails(qtbot: object, panel: tuple[MemoryPanel, list[int]]) -> None:
    widget, reads = panel
    widget.set_stats(stats(entry(1, 0, EntryKind.PERMANENT), entry(2, 5, EntryKind.WORKING)))
    qtbot.waitUntil(lambda: len(reads) == 2)  # type: ignore[attr-defined]
    widget.table.selectRow(1)
    resets: list[int] = []
    widget.model.modelReset.connect(lambda: resets.append(1))
    widget.set_stats(stats(entry(1, 0, EntryKind.PERMANENT), entry(2, 5, EntryKind.WORKING, rate=0.5)))
    assert resets == [] and widget.model.index(1, COL_USAGE).data() == "0.500"
    widget.set_stats(stats(entry(1, 0, EntryKind.PERMANENT), entry(2, 5, EntryKind.WORKING),
                           entry(4, 15, EntryKind.WORKING)))  # fmt: skip
    assert resets == [1] and widget.selected_entry_id() == 2  # selection survives the reset
    qtbot.waitUntil(lambda: len(reads) == 3)  # type: ignore[attr-defined]
    assert sorted(reads) == [0, 5, 15]  # frames 0 and 5 were not decoded again


def test_contributions_for_the_frame_on_screen(panel: tuple[MemoryPanel, list[int]]) -> None:
    widget, _ = panel
    widget.set_stats(stats(entry(1, 0, EntryKind.PERMANENT), entry(2, 5, EntryKind.WORKING)))
    assert widget.model.index(0, COL_CONTRIB).data(ContributionRole) is None
    widget.set_contributions({1: 0.7, 2: 0.3})
    assert widget.model.index(0, COL_CONTRIB).data(ContributionRole) == 0.7


def test_buttons_emit_requests(qtbot: object, panel: tuple[MemoryPanel, list[int]]) -> None:
    widget, _ = panel
    widget.set_stats(stats(entry(1, 0, EntryKind.PERMANENT), entry(2, 5, EntryKind.WORKING, pinned=True)))
    assert not widget.pin_button.isEnabled()
    pins: list[tuple[int, bool]] = []
    evicts: list[int] = []
    resets: list[bool] = []
    frames: list[int] = []
    widget.pin_requested.connect(lambda i, p: pins.append((i, p)))
    widget.evict_requested.connect(evicts.append)
    widget.reset_requested.connect(resets.append)
    widget.frame_activated.connect(frames.append)
    widget.select_entry(2)
    assert widget.pin_button.text() == "Unpin"
    widget.pin_button.click()
    widget.select_entry(1)
    widget.pin_button.click()
    widget.evict_button.click()
    widget.reset_button.click()
    widget.reset_all_button.click()
    assert pins == [(2, False), (1, True)] and evicts == [1] and resets == [True, False]
    index = widget.model.index(1, 0)
    rect = widget.table.visualRect(index)
    viewport = widget.table.viewport()
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())  # type: ignore[attr-defined]
    assert frames == [5]  # a single click shows the entry's frame
    qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())  # type: ignore[attr-defined]
    assert frames == [5, 5]  # and so does a double-click
