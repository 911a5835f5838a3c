"""Export / import workers: export (DAVIS, COCO, YOLO-seg, CVAT for video) and import of
annotations in a background thread, never the GUI thread.

``ExportWorker(job)``: ``start()`` (own thread) or ``run()`` (synchronous); ``cancel()``; signals
``progress(done, total)``, ``finished(str out_dir)``, ``failed(str message)`` (a cancelled export
fails with "Export cancelled"), then ``ended()``. ``ImportWorker(folder, n_frames, hw)`` emits
``finished(object)`` with ``{frame: labels}`` (DAVIS palette masks; with ``format=`` a COCO JSON,
YOLO-seg folder or CVAT XML, whose object names and notes are then in ``names`` and ``notes``).
See :mod:`app.workers.davis_export` for the layouts.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.workers.davis_export import (
    DAVIS,
    ExportJob,
    MaskProvider,
    drop_empty,
    export_project,
    import_davis_annotations,
    import_labels,
    import_mask_file,
)
from app.workers.worker import Job
from vos_core import ProjectError, ReviewMarks

if TYPE_CHECKING:
    from app.model.document import Document

__all__ = [
    "ExportJob",
    "ExportWorker",
    "ImportWorker",
    "export_job_for",
    "import_davis_annotations",
    "review_marks_of",
]


def export_job_for(
    document: Document,
    out_dir: str | Path,
    name: str | None = None,
    *,
    per_object: bool = False,
    overlay_video: bool = False,
    jpeg_quality: int = 90,
    format: str = DAVIS,
    images: bool | None = None,
    review: bool = False,
) -> ExportJob:
    """Save the document (so every mask is on disk) and describe its export; ``review``: also
    write the review marks (frames corrected / reviewed, :func:`review_marks_of`).
    Call on the GUI thread; the export then reads the project's files in its own thread.
    Raises ``ProjectError`` when the save fails (the export would miss the unsaved masks)."""
    problems: list[str] = []
    document.masks.problem.connect(problems.append)
    try:
        saved = document.save()
    finally:
        document.masks.problem.disconnect(problems.append)
    if not saved:
        reason = problems[-1] if problems else "the project could not be saved"
        raise ProjectError(f"Cannot export before every mask is saved: {reason}")
    return ExportJob(
        video_path=document.video_path,
        out_dir=Path(out_dir),
        name=name or document.name,
        masks_dir=document.project.masks_dir,
        frames=frozenset(document.masks.frames()),
        objects=tuple(document.objects.objects()),
        per_object=per_object,
        overlay_video=overlay_video,
        jpeg_quality=jpeg_quality,
        format=format,
        images=images,
        review=review_marks_of(document) if review else None,
    )


def review_marks_of(document: Document) -> ReviewMarks:
    """The document's review marks: its corrections (references) and its reviewed frames."""
    return ReviewMarks.of(document.reference_frames(), document.reviewed_only())


class ExportWorker(Job):
    """Writes an export in the job's format; ``finished(out_dir)`` on success, ``failed(message)``
    otherwise."""

    finished = Signal(str)
    CANCELLED_MESSAGE = "Export cancelled"

    def __init__(
        self, job: ExportJob, masks: MaskProvider | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.job = job
        self._masks = masks

    @property
    def warnings(self) -> list[str]:
        """Non-fatal problems (undecodable frames exported black, unreadable masks as empty)."""
        return self.job.warnings

    def work(self) -> object:
        out = export_project(self.job, self._masks, self.report_progress, self.check_cancelled)
        return str(out)

    def on_done(self, result: object) -> None:
        self.finished.emit(str(result))


class ImportWorker(Job):
    """Reads DAVIS palette masks; ``finished({frame: labels})`` (empty masks dropped unless
    ``keep_empty``), ``failed(message)`` otherwise."""

    finished = Signal(object)
    CANCELLED_MESSAGE = "Import cancelled"

    def __init__(
        self,
        folder: str | Path,
        n_frames: int,
        hw: tuple[int, int],
        name: str | None = None,
        keep_empty: bool = False,
        parent: QObject | None = None,
        frame: int = 0,
        format: str | None = None,
    ) -> None:
        """``folder`` may also be one mask image: it is for the frame its name gives, else ``frame``.
        ``format``: a key of ``vos_core.EXPORT_FORMATS`` to read labels of that format instead."""
        super().__init__(parent)
        self.format = format
        self.names: dict[int, str] = {}
        self.notes: list[str] = []
        self.folder = Path(folder)
        self.n_frames = n_frames
        self.hw = hw
        self.name = name
        self.keep_empty = keep_empty
        self.frame = frame

    def work(self) -> object:
        masks: dict[int, np.ndarray]
        if self.format is not None:
            masks, self.names, self.notes = import_labels(self.folder, self.format, self.n_frames, self.hw)
        elif self.folder.is_file():
            masks = import_mask_file(self.folder, self.n_frames, self.hw, self.frame)
        else:
            masks = import_davis_annotations(self.folder, self.n_frames, self.hw, self.name)
        self.check_cancelled()
        return masks if self.keep_empty else drop_empty(masks)

    def on_done(self, result: object) -> None:
        self.finished.emit(result)
