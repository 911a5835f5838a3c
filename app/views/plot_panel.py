"""Plot panel: per-frame confidence and memory size over the video (pyqtgraph), with a line at the
current frame; clicking a plot jumps to that frame."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QLabel, QStackedLayout, QWidget

from app.resources import MARK_CURRENT, MARK_LOW_CONFIDENCE

pg.setConfigOptions(antialias=True, background="w", foreground="#303030")


def points(values: Mapping[int, float], count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frames with a value (sorted), their values, and which points connect to the next one
    (consecutive frames only, so gaps stay gaps)."""
    frames = np.array(sorted(f for f in values if 0 <= f < count), dtype=np.int64)
    y = np.array([values[int(f)] for f in frames], dtype=np.float64)
    connect = np.zeros(len(frames), dtype=bool)
    if len(frames) > 1:
        connect[:-1] = np.diff(frames) == 1
    return frames, y, connect


class PlotPanel(QWidget):
    frame_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._count = 0
        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.ci.setContentsMargins(4, 4, 4, 4)
        self.graphics.setToolTip("Click a plot to go to that frame")
        self.confidence_plot = self.graphics.addPlot(row=0, col=0)
        self.memory_plot = self.graphics.addPlot(row=1, col=0)
        self.memory_plot.setXLink(self.confidence_plot)
        self.confidence_plot.setYRange(0, 1.3, padding=0)  # headroom for the title
        self.confidence_plot.getAxis("left").setTicks([[(0.0, "0"), (0.5, "0.5"), (1.0, "1")]])
        self.confidence_plot.hideAxis("bottom")
        for plot, title in ((self.confidence_plot, "confidence"), (self.memory_plot, "memory (MB)")):
            label = pg.LabelItem(title, size="8pt", color="#505050")
            label.setParentItem(plot.vb)
            label.anchor(itemPos=(0, 0), parentPos=(0, 0), offset=(4, -2))
        for plot in (self.confidence_plot, self.memory_plot):
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.getAxis("left").setWidth(34)
        self.confidence_curve = self.confidence_plot.plot(
            pen=pg.mkPen("#1e88e5", width=1.5),
            connect="finite",
            symbol="o",
            symbolSize=3,
            symbolBrush="#1e88e5",
            symbolPen=None,
        )
        self.memory_curve = self.memory_plot.plot(
            pen=pg.mkPen("#8e24aa", width=1.5), fillLevel=0, brush=(142, 36, 170, 40)
        )
        self.threshold_line = pg.InfiniteLine(
            angle=0, pos=0.6, pen=pg.mkPen(MARK_LOW_CONFIDENCE, width=1, style=Qt.PenStyle.DashLine)
        )
        self.confidence_plot.addItem(self.threshold_line)
        self.current_lines = []
        for plot in (self.confidence_plot, self.memory_plot):
            line = pg.InfiniteLine(angle=90, pos=0, pen=pg.mkPen(MARK_CURRENT, width=2))
            plot.addItem(line)
            self.current_lines.append(line)
        self.graphics.scene().sigMouseClicked.connect(self._on_click)
        self.placeholder = QLabel("Confidence and memory size per frame appear here as frames are propagated")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setStyleSheet("color: #6b7075;")
        self._stack = QStackedLayout(self)
        self._stack.setContentsMargins(0, 0, 0, 0)
        self._stack.addWidget(self.placeholder)
        self._stack.addWidget(self.graphics)
        self.set_count(0)

    def sizeHint(self) -> QSize:
        return QSize(480, 220)

    def set_count(self, count: int) -> None:
        self._count = max(0, int(count))
        self.confidence_curve.setData([], [])
        self.memory_curve.setData([], [])
        self.confidence_plot.setXRange(0, max(1, self._count - 1), padding=0.01)
        self.set_current(0)

    def set_confidence(self, values: Mapping[int, float]) -> None:
        x, y, connect = points(values, self._count)
        self._stack.setCurrentWidget(self.graphics if len(x) else self.placeholder)
        self.confidence_curve.setData(x, y, connect=connect)

    def set_memory(self, megabytes: Mapping[int, float]) -> None:
        x, y, connect = points(megabytes, self._count)
        self.memory_curve.setData(x, y, connect=connect)
        top = float(y.max()) if len(y) else 1.0
        self.memory_plot.setYRange(0, max(0.1, top) * 1.4, padding=0)  # headroom for the title

    def set_threshold(self, threshold: float) -> None:
        self.threshold_line.setPos(float(threshold))

    def set_current(self, frame: int) -> None:
        for line in self.current_lines:
            line.setPos(frame)

    def _on_click(self, event: object) -> None:
        pos = event.scenePos()  # type: ignore[attr-defined]
        for plot in (self.confidence_plot, self.memory_plot):
            if plot.sceneBoundingRect().contains(pos):
                x = plot.vb.mapSceneToView(pos).x()
                frame = int(round(x))
                if self._count and 0 <= frame < self._count:
                    self.frame_clicked.emit(frame)
                return
