"""The main window: layout (canvas, timeline, docks, toolbar, status bar) and wiring only."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QUrl
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QShowEvent, QUndoGroup
from PySide6.QtWidgets import QMainWindow, QMessageBox, QVBoxLayout, QWidget

from app.controllers.file_commands import FileCommands
from app.controllers.presenter import DocumentPresenter
from app.controllers.session_controller import EngineFactory, SessionController
from app.controllers.settings import AppSettings
from app.model.document import Document
from app.resources import APP_NAME, icon
from app.views.actions import WindowActions
from app.views.canvas import MaskCanvas
from app.views.dock_layout import LAYOUT_VERSION, MIN_WINDOW, DockLayout
from app.views.help_dialogs import ShortcutSheet, about_box
from app.views.memory_panel import MemoryPanel
from app.views.objects_panel import ObjectsPanel
from app.views.overlay import OverlayMode
from app.views.plot_panel import PlotPanel
from app.views.range_dialog import RangeDialog
from app.views.settings_dialog import SettingsDialog
from app.views.status_panel import StatusPanel
from app.views.timeline import Timeline
from app.views.tools import ToolKind
from app.workers.engine_client import EngineClient

SHUTDOWN_MS = 15000


class MainWindow(QMainWindow):
    def __init__(
        self,
        settings: AppSettings | None = None,
        engine_factory: EngineFactory | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(icon("app"))
        self.setAcceptDrops(True)
        self.setDockOptions(
            QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks
            | QMainWindow.DockOption.AllowNestedDocks
        )  # fmt: skip
        self.errors: list[str] = []  # every message shown in an error dialog (tests, diagnostics)
        self.settings = settings or AppSettings.load()
        # widgets
        self.canvas = MaskCanvas(self)
        self.timeline = Timeline(self)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.timeline)
        self.setCentralWidget(central)
        self.objects_panel = ObjectsPanel(self)
        self.memory_panel = MemoryPanel(self)
        self.plot_panel = PlotPanel(self)
        self.docks = DockLayout(self, self.objects_panel, self.memory_panel, self.plot_panel)
        self.objects_dock, self.memory_dock, self.plot_dock = self.docks.docks
        self.setMinimumSize(*MIN_WINDOW)
        self.status = StatusPanel(self.statusBar())
        self.actions = WindowActions(self)
        self.actions.build_menus(self)
        self.toolbars = self.actions.build_toolbars(self)
        for dock in (self.objects_dock, self.memory_dock, self.plot_dock):
            self.actions.panels_menu.addAction(dock.toggleViewAction())
        # logic
        self.controller = SessionController(self.settings, engine_factory, self)
        self.presenter = DocumentPresenter(
            self.controller, self.canvas, self.timeline, self.objects_panel, self.memory_panel,
            self.plot_panel, self.status, self.settings,
        )  # fmt: skip
        self.files = FileCommands(self, self.controller, self.show_error)
        self.undo_group = QUndoGroup(self)
        self._connect()
        self._sync_settings_ui()
        self._on_document(None)
        self._restore_geometry()

    def default_dock_sizes(self) -> tuple[int, int]:
        """(width of the right-hand column, height of the plot) for the window's present size."""
        return self.docks.default_sizes()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.docks.pending:  # first show without a saved layout: size the docks for this window
            self.docks.apply_default_sizes()

    def reset_layout(self) -> None:
        """View ▸ Reset layout: every dock back in its place, shown, docked, at its default size."""
        self.docks.reset(self.toolbars)

    # ------------------------------------------------------------------ wiring
    def _connect(self) -> None:
        a, c, p = self.actions, self.controller, self.presenter
        a.open_video.triggered.connect(self.files.open_video_dialog)
        a.open_folder.triggered.connect(self.files.open_folder_dialog)
        a.recent_menu.aboutToShow.connect(lambda: self.files.fill_recent_menu(a.recent_menu))
        a.import_masks.triggered.connect(self.files.import_dialog)
        a.import_mask.triggered.connect(self.files.import_file_dialog)
        a.import_labels.triggered.connect(self.files.import_labels_dialog)
        a.export.triggered.connect(self.files.export_dialog)
        a.settings.triggered.connect(self.open_settings)
        a.quit.triggered.connect(self.close)
        a.reset_layout.triggered.connect(self.reset_layout)
        a.shortcuts.triggered.connect(self.show_shortcuts)
        a.about.triggered.connect(lambda: about_box(self).open())
        a.undo.triggered.connect(self.undo_group.undo)
        a.redo.triggered.connect(self.undo_group.redo)
        self.undo_group.canUndoChanged.connect(a.undo.setEnabled)
        self.undo_group.canRedoChanged.connect(a.redo.setEnabled)
        self.undo_group.undoTextChanged.connect(lambda t: a.undo.setText(f"&Undo {t}".strip()))
        self.undo_group.redoTextChanged.connect(lambda t: a.redo.setText(f"&Redo {t}".strip()))
        a.add_object.triggered.connect(self._add_object)
        a.clear_frame.triggered.connect(self.canvas.clear_frame)
        a.fill_holes.triggered.connect(self.canvas.fill_active_holes)
        a.brush_smaller.triggered.connect(lambda: self.canvas.grow_brush(-1))
        a.brush_larger.triggered.connect(lambda: self.canvas.grow_brush(1))
        for row, action in enumerate(a.select_object):
            action.triggered.connect(lambda _=False, r=row: self.objects_panel.select_row(r))
        a.tool_group.triggered.connect(lambda action: self.canvas.set_tool(ToolKind(action.data())))
        a.overlay_group.triggered.connect(lambda action: self._set_overlay(OverlayMode(action.data())))
        a.fit.triggered.connect(self.canvas.fit)
        a.zoom_in.triggered.connect(lambda: self.canvas.zoom_by(1.25))
        a.zoom_out.triggered.connect(lambda: self.canvas.zoom_by(0.8))
        a.follow.toggled.connect(p.set_follow)
        p.follow_changed.connect(self._sync_follow)
        a.play.triggered.connect(self.timeline.toggle_play)
        a.next_frame.triggered.connect(lambda: p.step(1))
        a.prev_frame.triggered.connect(lambda: p.step(-1))
        a.next_10.triggered.connect(lambda: p.step(10))
        a.prev_10.triggered.connect(lambda: p.step(-10))
        a.first_frame.triggered.connect(lambda: p.go_to(0))
        a.last_frame.triggered.connect(lambda: p.go_to(self._last_frame))
        a.propagate_forward.triggered.connect(lambda: c.propagate(self._current, self._last_frame))
        a.propagate_backward.triggered.connect(lambda: c.propagate(self._current, 0))
        a.propagate_next.triggered.connect(
            lambda: c.propagate(self._current, c.next_annotated(self._current))
        )
        a.propagate_range.triggered.connect(self._propagate_range)
        a.update_around.triggered.connect(lambda: c.update_around(self._current))
        a.jump_worst.triggered.connect(self.jump_to_worst)
        a.pause.toggled.connect(c.pause)
        a.stop.triggered.connect(c.stop)
        a.use_reference.triggered.connect(lambda use: c.set_use_as_reference(self._current, use))
        p.reference_state_changed.connect(a.set_reference_state)
        a.reseed.triggered.connect(lambda: c.reseed(self._current))
        a.mark_reviewed.triggered.connect(lambda: c.mark_reviewed(self._current))
        a.reset_memory.triggered.connect(lambda: c.reset_memory(True))
        a.reset_all_memory.triggered.connect(lambda: c.reset_memory(False))
        self.canvas.edit_finished.connect(self._on_edit)
        self.canvas.hover.connect(self.status.set_pixel)
        self.canvas.message.connect(lambda text: self.statusBar().showMessage(text, 4000))
        self.canvas.brush_size_changed.connect(
            lambda s: self.statusBar().showMessage(f"Brush size {s} px", 2000)
        )
        self.objects_panel.add_requested.connect(self._add_object)
        self.objects_panel.delete_requested.connect(lambda i: self._document_call("remove_object", i))
        self.objects_panel.rename_requested.connect(lambda i, n: self._document_call("rename_object", i, n))
        self.objects_panel.recolour_requested.connect(
            lambda i, col: self._document_call("recolour_object", i, col)
        )
        self.memory_panel.pin_requested.connect(c.pin)
        self.memory_panel.evict_requested.connect(c.evict)
        self.memory_panel.reset_requested.connect(c.reset_memory)
        c.document_changed.connect(self._on_document)
        c.error.connect(self.show_error)
        c.info.connect(lambda text: self.statusBar().showMessage(text, 5000))
        c.running_changed.connect(self._on_running)
        c.frames_changed.connect(self.timeline.set_changed)
        c.engine_started.connect(self._on_engine_started)

    @property
    def document(self) -> Document | None:
        return self.controller.document

    @property
    def _current(self) -> int:
        return self.document.current_frame if self.document is not None else 0

    @property
    def _last_frame(self) -> int:
        return self.document.frame_count - 1 if self.document is not None else 0

    def _document_call(self, method: str, *args: object) -> None:
        if self.document is not None:
            getattr(self.document, method)(*args)

    # ------------------------------------------------------------------ handlers
    def _on_engine_started(self, engine: EngineClient) -> None:
        engine.ready.connect(lambda arch: self.status.set_model(arch))
        engine.device_ready.connect(self.status.set_device)
        engine.progress.connect(self.status.run_progress)
        engine.adapting.connect(self.status.run_adapting)
        engine.learning.connect(self.status.run_learning)
        engine.refused.connect(lambda text: self.statusBar().showMessage(text, 5000))
        engine.paused_changed.connect(self._on_paused)

    def open_path(self, path: str | Path, project_dir: str | Path | None = None) -> bool:
        return self.files.open_path(path, project_dir)

    def _on_document(self, document: Document | None) -> None:
        for action in self.actions.document_actions():
            action.setEnabled(document is not None)
        if document is not None:
            self.undo_group.addStack(document.undo_stack)
            self.undo_group.setActiveStack(document.undo_stack)
            document.problem.connect(lambda text: self.show_error("Problem", text))
            self.setWindowTitle(f"{document.name} — {APP_NAME}")
        else:
            self.setWindowTitle(APP_NAME)
        self.actions.undo.setEnabled(self.undo_group.canUndo())
        self.actions.redo.setEnabled(self.undo_group.canRedo())
        self._on_running(False)

    def _on_edit(self, frame: int, _before: object, after: object, text: str) -> None:
        if self.document is not None:
            self.document.user_edit(frame, after, text)  # type: ignore[arg-type]

    def _add_object(self) -> None:
        if self.document is not None:
            try:
                info = self.document.add_object()
            except ValueError as error:  # all 255 label values of the palette are taken
                self.show_error("Cannot add an object", f"{error}: remove an object first.")
                return
            self.objects_panel.select_object(info.id)

    def _on_running(self, running: bool) -> None:
        a = self.actions
        a.pause.setEnabled(running)
        a.stop.setEnabled(running)
        if running:
            self.status.run_started(0)
        else:
            self.status.run_finished()
            self._on_paused(False)

    def _on_paused(self, paused: bool) -> None:
        self.actions.pause.blockSignals(True)
        self.actions.pause.setChecked(paused)
        self.actions.pause.setText("&Resume" if paused else "&Pause")
        self.actions.pause.blockSignals(False)
        self.status.run_paused(paused)

    def _sync_follow(self, follow: bool) -> None:
        self.actions.follow.blockSignals(True)
        self.actions.follow.setChecked(follow)
        self.actions.follow.blockSignals(False)
        if not follow and self.controller.running:
            self.statusBar().showMessage("Not following the propagation (press F to follow again)", 5000)

    def _set_overlay(self, mode: OverlayMode) -> None:
        self.settings = self.settings.with_(overlay_mode=mode.value)
        self.settings.save()
        self.canvas.set_overlay(mode)

    def _sync_settings_ui(self) -> None:
        self.actions.overlays[OverlayMode(self.settings.overlay_mode)].setChecked(True)
        self._sync_follow(self.settings.follow)
        self.presenter.apply_settings(self.settings)

    def jump_to_worst(self) -> None:
        """Show the frame the quality estimate ranks worst among those not corrected yet."""
        document = self.document
        frame = self.controller.worst_frame()
        if document is None or frame is None:
            self.statusBar().showMessage("No predicted frame to check yet: propagate first", 5000)
            return
        self.presenter.go_to(frame)
        quality = document.confidence.get(frame, 0.0)
        self.statusBar().showMessage(
            f"Frame {frame}: the lowest estimated quality ({quality:.2f}) of the frames not corrected yet",
            8000,
        )

    def _propagate_range(self) -> None:
        if self.document is None:
            return
        dialog = RangeDialog(self.document.frame_count, self._current, self._last_frame, self)
        if dialog.exec() == RangeDialog.DialogCode.Accepted:
            self.controller.propagate(*dialog.frames())

    def open_settings(self) -> None:
        dialog = SettingsDialog(self.settings, self)
        if dialog.exec() != SettingsDialog.DialogCode.Accepted:
            return
        self.apply_settings(dialog.result_settings())

    def apply_settings(self, settings: AppSettings) -> None:
        settings.save()
        self.settings = settings
        self.controller.apply_settings(settings)
        self._sync_settings_ui()

    def show_shortcuts(self) -> None:
        """Help ▸ Keyboard shortcuts: a non-modal sheet, rebuilt from the current bindings."""
        sheet = ShortcutSheet(self.menuBar(), self)
        sheet.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.shortcut_sheet = sheet
        sheet.show()

    def show_error(self, title: str, message: str) -> None:
        """A non-blocking error dialog; the app keeps running."""
        self.errors.append(message)
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    # ------------------------------------------------------------------ drag and drop
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._dropped_path(event.mimeData().urls()) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        path = self._dropped_path(event.mimeData().urls())
        if path is not None:
            event.acceptProposedAction()
            self.open_path(path)

    @staticmethod
    def _dropped_path(urls: list[QUrl]) -> str | None:
        local = [u.toLocalFile() for u in urls if u.isLocalFile()]
        return local[0] if local else None

    # ------------------------------------------------------------------ lifetime
    def _restore_geometry(self) -> None:
        store = QSettings()
        geometry, state = store.value("window/geometry"), store.value("window/state")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1440, 900)
        if state is not None and self.restoreState(state, LAYOUT_VERSION):
            self.docks.pending = False  # the user's own layout

    def closeEvent(self, event: QCloseEvent) -> None:
        store = QSettings()
        store.setValue("window/geometry", self.saveGeometry())
        store.setValue("window/state", self.saveState(LAYOUT_VERSION))
        self.timeline.set_playing(False)
        self.files.cancel()
        self.canvas.wait_idle(SHUTDOWN_MS)
        if not self.controller.shutdown(SHUTDOWN_MS):
            self.show_error("Still busy", "The engine did not stop in time; try closing again.")
            event.ignore()
            return
        event.accept()
