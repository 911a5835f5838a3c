"""Plot panel: data, current-frame line, click to jump."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt

from app.views.plot_panel import PlotPanel, points


def test_points_keep_gaps() -> None:
    x, y, connect = points({0: 0.5, 1: 0.6, 2: 0.7, 5: 0.1, 99: 1.0}, 10)
    assert list(x) == [0, 1, 2, 5] and list(connect) == [True, True, False, False]
    assert np.allclose(y, [0.5, 0.6, 0.7, 0.1])


def test_plot_shows_data_and_jumps_on_click(qtbot: object) -> None:
    panel = PlotPanel()
    qtbot.addWidget(panel)  # type: ignore[attr-defined]
    panel.resize(500, 300)
    panel.show()
    qtbot.waitExposed(panel)  # type: ignore[attr-defined]
    panel.set_count(50)
    panel.set_confidence({i: 0.5 + i / 100 for i in range(30)})
    panel.set_memory({i: i / 10 for i in range(30)})
    panel.set_current(12)
    assert panel.current_lines[0].value() == 12
    x, _ = panel.confidence_curve.getData()
    assert len(x) == 30
    clicked: list[int] = []
    panel.frame_clicked.connect(clicked.append)
    vb = panel.memory_plot.vb
    scene_pos = vb.mapViewToScene(QPointF(37, 0.5))
    view_pos = panel.graphics.mapFromScene(scene_pos)
    qtbot.mouseClick(panel.graphics.viewport(), Qt.MouseButton.LeftButton, pos=view_pos)  # type: ignore[attr-defined]
    assert clicked and abs(clicked[-1] - 37) <= 1
