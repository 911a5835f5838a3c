"""Export: a dialog for the options and a runner that drives the background ``ExportWorker`` with a
progress dialog (cancellable)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressDialog,
    QPushButton,
    QWidget,
)

from app.model.document import Document
from app.workers.export import ExportWorker, export_job_for
from vos_core import VosError


@dataclass(frozen=True)
class ExportOptions:
    folder: str
    per_object: bool = False
    overlay_video: bool = False


class ExportDialog(QDialog):
    def __init__(self, document: Document, start_dir: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export DAVIS annotations")
        default = Path(start_dir) / f"{document.name}_davis"
        self.folder = QLineEdit(str(default))
        self.folder.setMinimumWidth(360)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        self.per_object = QCheckBox("Also one black-and-white PNG per object and frame")
        self.overlay_video = QCheckBox("Also an overlay video (frames with coloured masks)")
        n = len(document.masks.frames())
        note = QLabel(f"{n} of {document.frame_count} frames have masks")
        note.setStyleSheet("color: #555;")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Folder", row)
        form.addRow("", self.per_object)
        form.addRow("", self.overlay_video)
        form.addRow("", note)
        form.addRow(buttons)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def options(self) -> ExportOptions:
        return ExportOptions(
            self.folder.text().strip(), self.per_object.isChecked(), self.overlay_video.isChecked()
        )


class ExportRunner(QObject):
    """Runs one export at a time in the background with a progress dialog;
    ``finished(folder)`` / ``failed(message)`` when it ends (a cancelled export ends quietly)."""

    finished = Signal(str)
    failed = Signal(str)
    warned = Signal(str)  # a finished export had non-fatal problems (e.g. undecodable frames)

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self._window = window
        self._worker: ExportWorker | None = None
        self._progress: QProgressDialog | None = None

    @property
    def busy(self) -> bool:
        return self._worker is not None

    def start(self, document: Document, options: ExportOptions) -> bool:
        if self._worker is not None or not options.folder:
            return False
        try:
            job = export_job_for(
                document, options.folder, per_object=options.per_object, overlay_video=options.overlay_video
            )
        except VosError as error:  # the project could not be saved first
            self.failed.emit(str(error))
            return False
        worker = ExportWorker(job)
        self._worker = worker
        progress = QProgressDialog("Exporting…", "Cancel", 0, max(1, document.frame_count), self._window)
        progress.setWindowTitle("Export")
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(400)
        progress.setAutoClose(False)
        progress.setAutoReset(False)
        progress.canceled.connect(worker.cancel)
        self._progress = progress
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        worker.ended.connect(self._end)
        worker.start()
        return True

    def _on_progress(self, done: int, total: int) -> None:
        if self._progress is not None:
            self._progress.setMaximum(max(1, total))
            self._progress.setValue(done)

    def _on_finished(self, folder: str) -> None:
        self.finished.emit(folder)
        warnings = self._worker.warnings if self._worker is not None else []
        if warnings:
            more = f" (and {len(warnings) - 1} more)" if len(warnings) > 1 else ""
            self.warned.emit(f"Exported to {folder} with {len(warnings)} problem(s): {warnings[0]}{more}")

    def _on_failed(self, message: str) -> None:
        if message != ExportWorker.CANCELLED_MESSAGE:
            self.failed.emit(message)

    def _end(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.wait()
            worker.deleteLater()
        if self._progress is not None:
            self._progress.close()
            self._progress.deleteLater()
            self._progress = None

    def cancel(self, timeout_ms: int = 30000) -> None:
        """Cancel a running export and wait for its thread (on close)."""
        worker = self._worker
        if worker is not None:
            worker.cancel()
            worker.wait(timeout_ms)
            self._end()
