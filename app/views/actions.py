"""All window actions (menus, toolbar, shortcuts) in one place. Tooltips show the shortcuts."""

from __future__ import annotations

from PySide6.QtCore import QObject, QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QToolBar

from app.resources import icon
from app.views.overlay import OverlayMode
from app.views.tools import ToolKind

Shortcut = str | QKeySequence.StandardKey | None


def make_action(
    parent: QObject,
    text: str,
    shortcut: Shortcut = None,
    icon_name: str | None = None,
    tip: str | None = None,
    checkable: bool = False,
) -> QAction:
    action = QAction(text, parent)
    if icon_name:
        action.setIcon(icon(icon_name))
    keys = ""
    if isinstance(shortcut, QKeySequence.StandardKey):
        action.setShortcuts(shortcut)
        sequences = action.shortcuts()
        keys = sequences[0].toString(QKeySequence.SequenceFormat.NativeText) if sequences else ""
    elif shortcut:
        action.setShortcut(QKeySequence(shortcut))
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
    plain = text.replace("&", "").rstrip("…").rstrip(".")
    described = f"{plain}: {tip}" if tip else plain
    action.setToolTip(f"{described} ({keys})" if keys else described)
    action.setStatusTip(tip or plain)
    action.setCheckable(checkable)
    return action


class WindowActions(QObject):
    """Creates the actions; :meth:`build_menus` / :meth:`build_toolbars` place them."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        a = make_action
        w = window
        # File
        self.open_video = a(
            w, "Open &video…", QKeySequence.StandardKey.Open, "open_video", "Open a video file"
        )
        self.open_folder = a(w, "Open &folder…", "Ctrl+Shift+O", "open_folder", "Open a folder of frames")
        self.recent_menu = QMenu("Open &recent", w)
        self.import_masks = a(w, "&Import DAVIS masks…", "Ctrl+I", "import", "Load masks from a DAVIS folder")
        self.import_mask = a(
            w, "Import mask i&mage…", "Ctrl+Shift+I", None, "Load one mask PNG (for the frame its name says)"
        )
        self.import_labels = a(
            w, "Import &labels (COCO, YOLO-seg, CVAT)…", None, None, "Load another tool's labels as masks"
        )
        self.export = a(w, "&Export…", "Ctrl+E", "export", "Export masks: DAVIS, COCO, YOLO-seg, CVAT")
        self.settings = a(w, "&Settings…", "Ctrl+,", "settings", "Engine and display settings")
        self.quit = a(w, "&Quit", QKeySequence.StandardKey.Quit)
        # Edit
        self.undo = a(w, "&Undo", QKeySequence.StandardKey.Undo, "undo")
        self.redo = a(w, "&Redo", QKeySequence.StandardKey.Redo, "redo")
        self.add_object = a(w, "&Add object", "Ctrl+N", "add", "Add a new object to annotate")
        self.clear_frame = a(w, "&Clear frame", "Shift+Del", "clear", "Remove all masks from this frame")
        self.fill_holes = a(w, "&Fill holes", "H", "fill", "Fill holes in the active object's mask")
        self.brush_smaller = a(w, "Smaller brush", "[")
        self.brush_larger = a(w, "Larger brush", "]")
        self.select_object = [a(w, f"Select object {i + 1}", str((i + 1) % 10)) for i in range(10)]
        # Tools
        self.tool_group = QActionGroup(w)
        self.tools: dict[ToolKind, QAction] = {}
        for kind, text, key, icon_name, tip in (
            (ToolKind.BRUSH, "&Brush", "B", "brush", "Paint the active object"),
            (ToolKind.ERASER, "&Eraser", "E", "eraser", "Erase the active object"),
            (ToolKind.POLYGON, "&Polygon", "G", "polygon", "Click points; double-click or Enter closes"),
            (ToolKind.BOX, "Bo&x to mask", "R", "box", "Drag a box: GrabCut makes a mask inside it"),
            (
                ToolKind.CLICK, "&Click to segment", "C", "click",
                "Left click adds, right click removes, drag a box to start (click model)",
            ),
        ):
            action = a(w, text, key, icon_name, tip, checkable=True)
            action.setData(kind.value)
            self.tool_group.addAction(action)
            self.tools[kind] = action
        self.tools[ToolKind.BRUSH].setChecked(True)
        # View
        self.overlay_group = QActionGroup(w)
        self.overlays: dict[OverlayMode, QAction] = {}
        for i, mode in enumerate(OverlayMode):
            action = a(w, mode.title, f"Ctrl+{i + 1}", checkable=True)
            action.setData(mode.value)
            self.overlay_group.addAction(action)
            self.overlays[mode] = action
        self.overlays[OverlayMode.FILL].setChecked(True)
        self.fit = a(w, "&Fit to window", "Ctrl+0", "fit")
        self.zoom_in = a(w, "Zoom &in", QKeySequence.StandardKey.ZoomIn)
        self.zoom_out = a(w, "Zoom &out", QKeySequence.StandardKey.ZoomOut)
        self.follow = a(w, "F&ollow propagation", "F", "follow", "Show frames as they are propagated", True)
        self.play = a(w, "&Play / pause", "P", "play")
        self.reset_layout = a(w, "Reset &layout", None, None, "Put every panel back in its default place")
        self.next_frame = a(w, "Next frame", "Right")
        self.prev_frame = a(w, "Previous frame", "Left")
        self.next_10 = a(w, "10 frames ahead", "Shift+Right")
        self.prev_10 = a(w, "10 frames back", "Shift+Left")
        self.first_frame = a(w, "First frame", "Home")
        self.last_frame = a(w, "Last frame", "End")
        # Propagate
        self.propagate_forward = a(
            w, "Propagate &forward", "F5", "propagate_forward", "From this frame to the end"
        )
        self.propagate_backward = a(
            w, "Propagate &backward", "Shift+F5", "propagate_backward", "From this frame to the start"
        )
        self.propagate_next = a(
            w, "Propagate to &next annotated", "F6", "propagate_next", "Up to the next annotated frame"
        )
        self.propagate_range = a(w, "Propagate &range…", "Ctrl+F5", "propagate_range", "Choose the frames")
        self.update_around = a(
            w, "&Update around correction", "U", "update_around",
            "After correcting this frame: update the frames on both sides of it, up to the "
            "neighbouring references, stopping where nothing changes",
        )
        self.jump_worst = a(
            w, "Go to &worst frame", "W", "worst",
            "The frame with the lowest estimated quality that you have not corrected yet",
        )
        self.pause = a(w, "&Pause", "F7", "pause", "Pause or resume the propagation", True)
        self.stop = a(w, "&Stop", "F8", "stop", "Stop the propagation")
        # Memory
        self.use_reference = a(
            w,
            "Use as &reference",
            "Ctrl+M",
            "commit",
            "This frame's mask is a permanent memory entry (on by default for your masks)",
            True,
        )
        self.use_reference.setEnabled(False)
        self.mark_reviewed = a(
            w, "Mark re&viewed", "V", None, "Checked: keep this mask as it is, not as a reference"
        )
        self.reseed = a(
            w,
            "&Reseed from this frame",
            "Ctrl+Shift+M",
            "reseed",
            "Reset memory to your references and propagate from this mask to the end",
        )
        self.reset_memory = a(w, "Reset &memory", None, "reset", "Clear working and long-term memory")
        self.reset_all_memory = a(w, "Reset &all memory", None, None, "Clear all memory, permanent too")
        # Help
        self.shortcuts = a(
            w, "&Keyboard shortcuts", QKeySequence.StandardKey.HelpContents, None, "Every key, by menu"
        )
        self.about = a(w, "&About", None, None, "Version and what this app does")

    def document_actions(self) -> list[QAction]:
        """Actions that need an open video."""
        return [
            self.import_masks, self.import_mask, self.import_labels, self.export, self.add_object,
            self.clear_frame,
            self.fill_holes, self.fit, self.zoom_in, self.zoom_out, self.play, self.next_frame,
            self.prev_frame, self.next_10, self.prev_10, self.first_frame, self.last_frame,
            self.propagate_forward, self.propagate_backward, self.propagate_next, self.propagate_range,
            self.update_around, self.jump_worst, self.reseed, self.reset_memory, self.reset_all_memory,
            self.mark_reviewed, *self.select_object, *self.tools.values(),
        ]  # fmt: skip

    def set_reference_state(self, available: bool, checked: bool) -> None:
        """The frame on screen: has a user mask (the action is enabled), is a reference (checked).
        Sets the state without triggering the action."""
        self.use_reference.blockSignals(True)
        self.use_reference.setChecked(checked)
        self.use_reference.blockSignals(False)
        self.use_reference.setEnabled(available)

    def build_menus(self, window: QMainWindow) -> None:
        bar = window.menuBar()
        file = bar.addMenu("&File")
        file.addActions([self.open_video, self.open_folder])
        file.addMenu(self.recent_menu)
        file.addSeparator()
        file.addActions([self.import_masks, self.import_mask, self.import_labels, self.export])
        file.addSeparator()
        file.addAction(self.settings)
        file.addSeparator()
        file.addAction(self.quit)
        edit = bar.addMenu("&Edit")
        edit.addActions([self.undo, self.redo])
        edit.addSeparator()
        edit.addActions(list(self.tools.values()))
        edit.addActions([self.fill_holes, self.clear_frame, self.brush_smaller, self.brush_larger])
        edit.addSeparator()
        edit.addAction(self.add_object)
        objects = edit.addMenu("Select &object")
        objects.addActions(self.select_object)
        view = bar.addMenu("&View")
        view.addActions(list(self.overlays.values()))
        view.addSeparator()
        view.addActions([self.fit, self.zoom_in, self.zoom_out])
        view.addSeparator()
        view.addActions([self.follow, self.play])
        nav = view.addMenu("&Go to")
        nav.addActions([self.prev_frame, self.next_frame, self.prev_10, self.next_10])
        nav.addActions([self.first_frame, self.last_frame])
        self.panels_menu = view.addMenu("&Panels")
        view.addAction(self.reset_layout)
        propagate = bar.addMenu("&Propagate")
        propagate.addActions([self.update_around, self.jump_worst])
        propagate.addSeparator()
        propagate.addActions([self.propagate_forward, self.propagate_backward, self.propagate_next])
        propagate.addAction(self.propagate_range)
        propagate.addSeparator()
        propagate.addActions([self.pause, self.stop])
        memory = bar.addMenu("&Memory")
        memory.addActions([self.use_reference, self.mark_reviewed, self.reseed])
        memory.addSeparator()
        memory.addActions([self.reset_memory, self.reset_all_memory])
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.shortcuts)
        help_menu.addSeparator()
        help_menu.addAction(self.about)

    def build_toolbars(self, window: QMainWindow) -> list[QToolBar]:
        main = QToolBar("Main", window)
        main.setObjectName("main_toolbar")
        main.setIconSize(QSize(18, 18))
        main.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        main.addActions([self.open_video, self.open_folder, self.export])
        main.addSeparator()
        main.addActions([self.undo, self.redo])
        main.addSeparator()
        main.addActions(list(self.tools.values()))
        main.addActions([self.fill_holes, self.clear_frame])
        main.addSeparator()
        main.addActions([self.jump_worst, self.update_around])
        main.addActions([self.propagate_backward, self.propagate_forward, self.propagate_next])
        main.addActions([self.pause, self.stop, self.follow])
        main.addSeparator()
        main.addActions([self.use_reference, self.reseed])
        main.addSeparator()
        main.addActions([self.fit, self.settings])
        window.addToolBar(Qt.ToolBarArea.TopToolBarArea, main)
        return [main]
