"""Export: a dialog for the format and its options with a preview of what will be written (files,
objects, frames), and a runner that drives the background ``ExportWorker`` with a progress dialog
(cancellable). The export itself never runs on the GUI thread."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
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
from app.workers.davis_export import DAVIS, FORMAT_LABELS, ExportJob, describe_job
from app.workers.export import ExportWorker, export_job_for, review_marks_of
from vos_core import EXPORT_FORMATS, VosError


@dataclass(frozen=True)
class ExportOptions:
    folder: str
    per_object: bool = False
    overlay_video: bool = False
    format: str = DAVIS
    images: bool | None = None  # other formats: also the frames (None: the format's default)
    review: bool = True  # also NAME_review.json: which frames were corrected or reviewed


class ExportDialog(QDialog):
    def __init__(self, document: Document, start_dir: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export annotations")
        self._document = document
        self._start_dir = Path(start_dir)
        self.format = QComboBox()
        for key, label in FORMAT_LABELS.items():
            self.format.addItem(label, key)
        self.folder = QLineEdit(str(self._default_folder(DAVIS)))
        self.folder.setMinimumWidth(360)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        self.per_object = QCheckBox("Also one black-and-white PNG per object and frame")
        self.overlay_video = QCheckBox("Also an overlay video (frames with coloured masks)")
        self.images = QCheckBox("Also write the frames (JPEG)")
        self.review = QCheckBox("Also the review marks (which frames were corrected or checked)")
        self.review.setChecked(True)
        n = len(document.masks.frames())
        note = QLabel(f"{n} of {document.frame_count} frames have masks")
        note.setStyleSheet("color: #555;")
        self.preview = QLabel()
        self.preview.setWordWrap(True)
        self.preview.setMinimumHeight(self.preview.fontMetrics().lineSpacing() * 5)
        self.preview.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Format", self.format)
        form.addRow("Folder", row)
        form.addRow("", self.per_object)
        form.addRow("", self.overlay_video)
        form.addRow("", self.images)
        form.addRow("", self.review)
        form.addRow("", note)
        form.addRow("Will write", self.preview)
        form.addRow(buttons)
        self.format.currentIndexChanged.connect(self._format_changed)
        for box in (self.per_object, self.overlay_video, self.images, self.review):
            box.toggled.connect(self._update_preview)
        self._format_changed()

    def _default_folder(self, key: str) -> Path:
        return self._start_dir / f"{self._document.name}_{key.replace('-', '_')}"

    def _format_changed(self) -> None:
        key = self.format.currentData()
        davis = key == DAVIS
        previous = {str(self._default_folder(k)) for k in FORMAT_LABELS}
        if self.folder.text() in previous:  # still a default: follow the format
            self.folder.setText(str(self._default_folder(key)))
        self.per_object.setVisible(davis)
        self.overlay_video.setVisible(davis)
        self.images.setVisible(not davis)
        if not davis:
            self.images.blockSignals(True)
            self.images.setChecked(EXPORT_FORMATS[key].images_by_default)
            self.images.blockSignals(False)
        self._update_preview()

    def _update_preview(self) -> None:
        options = self.options()
        document = self._document
        job = ExportJob(
            video_path=document.video_path, out_dir=Path(options.folder), name=document.name,
            objects=tuple(document.objects.objects()), per_object=options.per_object,
            overlay_video=options.overlay_video, format=options.format, images=options.images,
            review=review_marks_of(document) if options.review else None,
        )  # fmt: skip
        self.preview.setText(describe_job(job, document.frame_count))

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def options(self) -> ExportOptions:
        key = self.format.currentData()
        davis = key == DAVIS
        return ExportOptions(
            self.folder.text().strip(),
            davis and self.per_object.isChecked(),
            davis and self.overlay_video.isChecked(),
            key,
            None if davis else self.images.isChecked(),
            self.review.isChecked(),
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

    @property
    def progress_dialog(self) -> QProgressDialog | None:
        return self._progress

    def start(self, document: Document, options: ExportOptions) -> bool:
        if self._worker is not None or not options.folder:
            return False
        try:
            job = export_job_for(
                document, options.folder, per_object=options.per_object, overlay_video=options.overlay_video,
                format=options.format, images=options.images, review=options.review,
            )  # fmt: skip
        except VosError as error:  # the project could not be saved first
            self.failed.emit(str(error))
            return False
        worker = ExportWorker(job)
        self._worker = worker
        label = FORMAT_LABELS.get(options.format, options.format).split(" (")[0]
        progress = QProgressDialog(
            f"Exporting {label}…", "Cancel", 0, max(1, document.frame_count), self._window
        )
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
