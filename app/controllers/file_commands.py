"""File menu commands: open (dialogs, recent files), import DAVIS masks or other tools' labels
(:mod:`app.controllers.label_import`), export."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QSettings
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu

from app.controllers.label_import import LabelImporter
from app.controllers.session_controller import SessionController
from app.controllers.settings import add_recent_file, recent_files, remove_recent_file
from app.resources import VIDEO_FILTER
from app.views.export_dialog import ExportDialog, ExportRunner
from app.workers.export import ImportWorker

ShowError = Callable[[str, str], None]  # title, message


class FileCommands(QObject):
    def __init__(self, window: QMainWindow, controller: SessionController, show_error: ShowError) -> None:
        super().__init__(window)
        self.window = window
        self.controller = controller
        self.show_error = show_error
        self.exporter = ExportRunner(window)
        self.exporter.finished.connect(
            lambda folder: window.statusBar().showMessage(f"Exported to {folder}", 8000)
        )
        self.exporter.failed.connect(lambda message: show_error("Export failed", message))
        self.exporter.warned.connect(lambda message: show_error("Exported with problems", message))
        self._import: ImportWorker | None = None
        self.labels = LabelImporter(window, controller, show_error)

    # ------------------------------------------------------------------ open
    def open_path(self, path: str | Path, project_dir: str | Path | None = None) -> bool:
        path = str(path)
        if self.controller.running:
            self.controller.stop()
        if not self.controller.open(path, project_dir):
            if not Path(path).exists():
                remove_recent_file(path)
            return False
        add_recent_file(str(Path(path).resolve()))
        QSettings().setValue("paths/last_dir", str(Path(path).resolve().parent))
        return True

    def _last_dir(self) -> str:
        return str(QSettings().value("paths/last_dir", str(Path.home())))

    def open_video_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open video", self._last_dir(), VIDEO_FILTER)
        if path:
            self.open_path(path)

    def open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self.window, "Open a folder of frames", self._last_dir())
        if path:
            self.open_path(path)

    def fill_recent_menu(self, menu: QMenu) -> None:
        menu.clear()
        files = recent_files()
        for i, path in enumerate(files):
            label = f"&{(i + 1) % 10}  {Path(path).name}  —  {Path(path).parent}"
            action = menu.addAction(label)
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, p=path: self.open_path(p))
        if not files:
            menu.addAction("No recent files").setEnabled(False)

    # ------------------------------------------------------------------ import
    def import_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, "Import DAVIS masks", self._last_dir())
        if folder:
            self.import_folder(folder)

    def import_file_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.window, "Import a mask image", self._last_dir(), "Mask images (*.png);;All files (*)"
        )
        if path:
            self.import_folder(path)

    def import_folder(self, folder: str | Path) -> None:
        """Read DAVIS masks on a worker thread, then apply them as one undo step. ``folder`` may also
        be one mask PNG: it goes to the frame its name says (``00012.png``), else the current frame."""
        document = self.controller.document
        if document is None or self._import is not None:
            return
        worker = ImportWorker(folder, document.frame_count, document.size, frame=document.current_frame)
        self._import = worker
        self.window.statusBar().showMessage(f"Importing masks from {folder}…")

        def done(masks: dict[int, np.ndarray]) -> None:
            if self.controller.document is not document:
                return
            if not masks:
                self.show_error("Nothing imported", f"No masks for this video were found in {folder}.")
                return
            document.import_masks(masks, f"Import {len(masks)} mask{'s' if len(masks) != 1 else ''}")
            document.set_current_frame(min(masks))
            self.window.statusBar().showMessage(f"Imported {len(masks)} masks", 5000)

        worker.finished.connect(done)
        worker.failed.connect(lambda message: self.show_error("Import failed", message))
        worker.ended.connect(self._import_ended)
        worker.start()

    def import_labels_dialog(self) -> None:
        """COCO JSON, YOLO-seg (its data.yaml) or CVAT for video XML."""
        self.labels.dialog(self._last_dir())

    def _import_ended(self) -> None:
        worker, self._import = self._import, None
        if worker is not None:
            worker.wait()
            worker.deleteLater()

    @property
    def busy(self) -> bool:
        return self._import is not None or self.exporter.busy or self.labels.busy

    # ------------------------------------------------------------------ export
    def export_dialog(self) -> None:
        document = self.controller.document
        if document is None:
            return
        dialog = ExportDialog(document, self._last_dir(), self.window)
        if dialog.exec() == ExportDialog.DialogCode.Accepted:
            self.exporter.start(document, dialog.options())

    def cancel(self) -> None:
        """Stop background file work (on close)."""
        if self._import is not None:
            self._import.cancel()
            self._import.wait()
            self._import_ended()
        self.labels.cancel()
        self.exporter.cancel()
