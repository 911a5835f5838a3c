"""Window actions: menus and toolbar exist, tooltips show the shortcuts."""

from __future__ import annotations

from PySide6.QtWidgets import QMainWindow

from app.views.actions import WindowActions
from app.views.tools import ToolKind


def test_menus_toolbar_and_tooltips(qtbot: object) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    actions = WindowActions(window)
    actions.build_menus(window)
    toolbars = actions.build_toolbars(window)
    titles = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert titles == ["File", "Edit", "View", "Propagate", "Memory", "Help"]
    assert actions.tools[ToolKind.BRUSH].toolTip() == "Brush: Paint the active object (B)"
    assert "(F5)" in actions.propagate_forward.toolTip()
    assert "(Ctrl+M)" in actions.use_reference.toolTip()
    assert actions.use_reference.isCheckable()
    for action in toolbars[0].actions():
        if not action.isSeparator():
            assert not action.icon().isNull(), action.text()
            assert "(" in action.toolTip() or action is actions.settings, action.toolTip()
    assert [a.shortcut().toString() for a in actions.select_object] == [str((i + 1) % 10) for i in range(10)]
