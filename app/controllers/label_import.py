"""File ▸ Import labels: COCO instance JSON, Ultralytics YOLO-seg folders and CVAT for video XML
read on a worker thread (never the GUI thread), then applied as one undo step; objects the import
creates take the names the labels give them, and what the reader had to decide (overlapping
instances resolved, entries skipped) is shown to the user."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QMainWindow

from app.controllers.session_controller import SessionController
from app.workers.export import ImportWorker
from vos_core import VosError, guess_format

ShowError = Callable[[str, str], None]  # title, message

FILE_FILTER = (
    "Labels (*.json *.xml data.yaml);;COCO instances (*.json);;CVAT for video (*.xml);;"
    "YOLO-seg dataset (data.yaml);;All files (*)"
)


class LabelImporter(QObject):
    """Imports labels of another tool's format into the open document (one import at a time)."""

    def __init__(self, window: QMainWindow, controller: SessionController, show_error: ShowError) -> None:
        super().__init__(window)
        self.window = window
        self.controller = controller
        self.show_error = show_error
        self._worker: ImportWorker | None = None

    @property
    def busy(self) -> bool:
        return self._worker is not None

    def dialog(self, start_dir: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Import labels", start_dir, FILE_FILTER)
        if path:
            self.import_path(Path(path).parent if Path(path).name == "data.yaml" else path)

    def import_path(self, path: str | Path, format: str | None = None) -> bool:
        """Read ``path`` (format guessed when None) in the background and apply it; False when
        nothing started (no document, another import running, a path of no known format)."""
        document = self.controller.document
        if document is None or self._worker is not None:
            return False
        try:
            key = format or guess_format(path)
        except VosError as error:
            self.show_error("Import failed", str(error))
            return False
        worker = ImportWorker(path, document.frame_count, document.size, format=key)
        self._worker = worker
        self.window.statusBar().showMessage(f"Importing {key} labels from {path}…")

        def done(masks: dict[int, np.ndarray]) -> None:
            if self.controller.document is not document:
                return
            if not masks:
                self.show_error("Nothing imported", f"No labels for this video were found in {path}.")
                return
            existing = set(document.objects.ids())
            count = len(masks)
            text = f"Import {count} {key} label map{'s' if count != 1 else ''}"
            document.undo_stack.beginMacro(text)
            try:
                document.import_masks(masks, text)
                for object_id, name in worker.names.items():
                    if object_id not in existing and object_id in document.objects and name:
                        document.rename_object(object_id, name)
            finally:
                document.undo_stack.endMacro()
            document.set_current_frame(min(masks))
            self.window.statusBar().showMessage(f"Imported {count} frames of {key} labels", 5000)
            if worker.notes:
                more = f" (and {len(worker.notes) - 3} more)" if len(worker.notes) > 3 else ""
                self.show_error("Imported with notes", "; ".join(worker.notes[:3]) + more)

        worker.finished.connect(done)
        worker.failed.connect(lambda message: self.show_error("Import failed", message))
        worker.ended.connect(self._ended)
        worker.start()
        return True

    def _ended(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.wait()
            worker.deleteLater()

    def cancel(self) -> None:
        """Stop a running import (on close)."""
        if self._worker is not None:
            self._worker.cancel()
            self._worker.wait()
            self._ended()
