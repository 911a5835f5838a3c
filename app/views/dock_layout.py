"""The main window's docks: the objects and memory panels in one right-hand column, the plot below
the canvas; their default sizes for the window's present size, and View ▸ Reset layout."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QToolBar, QWidget

from app.views.memory_panel import MemoryPanel

MIN_WINDOW = (960, 600)  # below this the canvas and the docks no longer fit
DOCK_MIN = {"objects": 150, "memory": 260, "plot": 100}  # px: width of side docks, height of the plot
# Default layout: objects (short) above memory in one right-hand column as wide as the memory table
# needs but at most SIDE_SHARE of the window; the plot below the canvas, PLOT_SHARE of the height.
SIDE_SHARE, SIDE_MAX = 0.27, 560  # SIDE_MAX: the most a side dock may take (they are mostly empty)
PLOT_SHARE, PLOT_HEIGHT = 0.17, (120, 200)  # clamped to (least, most) px
PLOT_MAX = 420
OBJECTS_HEIGHT = 190  # about six objects above the buttons
LAYOUT_VERSION = 1  # of saved dock states: one saved by an older layout is not restored


class DockLayout:
    """Makes the window's three docks and sizes them. ``pending``: the default sizes are still to be
    set (once the window has its size, unless a saved layout was restored)."""

    def __init__(self, window: QMainWindow, objects: QWidget, memory: MemoryPanel, plot: QWidget) -> None:
        self.window, self.memory_panel = window, memory
        right, bottom = Qt.DockWidgetArea.RightDockWidgetArea, Qt.DockWidgetArea.BottomDockWidgetArea
        window.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        window.setCorner(Qt.Corner.BottomRightCorner, right)
        self.objects = self._dock("Objects", objects, right)
        self.memory = self._dock("Memory", memory, right)  # below the objects
        self.plot = self._dock("Confidence and memory", plot, bottom)
        self.objects.setMinimumWidth(DOCK_MIN["objects"])
        self.memory.setMinimumWidth(DOCK_MIN["memory"])
        self.plot.setMinimumHeight(DOCK_MIN["plot"])
        for dock in (self.objects, self.memory):
            dock.setMaximumWidth(SIDE_MAX)
        self.plot.setMaximumHeight(PLOT_MAX)
        self.areas = ((self.objects, right), (self.memory, right), (self.plot, bottom))
        self.pending = True

    @property
    def docks(self) -> tuple[QDockWidget, ...]:
        return tuple(dock for dock, _area in self.areas)

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self.window)
        dock.setObjectName(f"dock_{title.split()[0].lower()}")
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )  # fmt: skip
        self.window.addDockWidget(area, dock)
        return dock

    def default_sizes(self) -> tuple[int, int]:
        """(width of the right-hand column, height of the plot) for the window's present size:
        the memory table's natural width, at most ``SIDE_SHARE`` of the window, so that the canvas
        gets most of it."""
        window = self.window
        least = max(DOCK_MIN["memory"], self.memory_panel.minimumSizeHint().width())
        side = max(least, min(self.memory_panel.content_width(), round(SIDE_SHARE * window.width())))
        plot = max(PLOT_HEIGHT[0], min(PLOT_HEIGHT[1], round(PLOT_SHARE * window.height())))
        return side, plot

    def apply_default_sizes(self) -> None:
        window = self.window
        side, plot = self.default_sizes()
        window.resizeDocks([self.memory], [side], Qt.Orientation.Horizontal)
        rest = max(OBJECTS_HEIGHT, window.height() - OBJECTS_HEIGHT)
        vertical = Qt.Orientation.Vertical
        window.resizeDocks([self.objects, self.memory], [OBJECTS_HEIGHT, rest], vertical)
        window.resizeDocks([self.plot], [plot], vertical)
        self.pending = False

    def reset(self, toolbars: list[QToolBar]) -> None:
        """Every dock back in its place, shown, docked, at its default size; the toolbars too."""
        window = self.window
        for dock, _area in self.areas:  # all out first, so they come back in their order
            dock.setFloating(False)
            window.removeDockWidget(dock)
        for dock, area in self.areas:
            window.addDockWidget(area, dock)
            dock.show()
        for bar in toolbars:
            window.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
            bar.show()
        self.apply_default_sizes()
