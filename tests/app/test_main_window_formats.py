"""The real MainWindow, offscreen: File ▸ Export in the formats other tools read (with the dialog's
preview and the background export), File ▸ Import of COCO and YOLO-seg labels into a fresh project."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from pycocotools.coco import COCO

from app.main_window import MainWindow
from app.views.export_dialog import ExportDialog, ExportOptions
from app.workers.export import ExportWorker, export_job_for
from tests.app.window_helpers import RUN_TIMEOUT_MS, Box, open_painted
from tests.core.synthetic import iou


def painted_two_objects(window: MainWindow, video: Path, stroke: Callable[..., None], square: Box) -> dict:
    document = open_painted(window, video, stroke, square)
    document.add_object("Second")
    window.presenter.go_to(3)
    window.objects_panel.select_row(1)
    stroke(window.canvas, [(100, 10), (140, 10)])
    return {f: document.masks.get(f).copy() for f in document.masks.frames()}


def export(qtbot, window: MainWindow, options: ExportOptions) -> None:
    exporter = window.files.exporter
    with qtbot.waitSignal(exporter.finished, timeout=RUN_TIMEOUT_MS):
        assert exporter.start(window.document, options)
        assert exporter.busy  # on its worker thread, the GUI goes on
    assert not exporter.busy


def import_into_fresh_project(qtbot, window: MainWindow, video: Path, project: Path, path: Path, expected):
    assert window.open_path(video, project)
    document = window.document
    assert document is not None and document.masks.frames() == []
    assert window.files.labels.import_path(path)
    qtbot.waitUntil(lambda: document.masks.frames() == expected, timeout=60_000)
    return document


def test_coco_export_from_the_window_and_import_into_a_new_project(
    qtbot, window: MainWindow, small_video: Path, stroke, square: Box, tmp_path: Path
) -> None:
    original = painted_two_objects(window, small_video, stroke, square)
    document = window.document
    dialog = ExportDialog(document, str(tmp_path), window)
    dialog.format.setCurrentIndex(dialog.format.findData("coco"))
    preview = dialog.preview.text()
    assert "instances_" in preview and "Objects: 2 in 2 categories" in preview
    assert f"Frames: {document.frame_count}" in preview
    assert preview.endswith(f"Review marks: {document.name}_review.json (2 corrected, 0 reviewed)")
    assert dialog.options().format == "coco" and dialog.folder.text().endswith("_coco")
    dialog.format.setCurrentIndex(dialog.format.findData("yolo-seg"))
    assert "data.yaml" in dialog.preview.text() and dialog.images.isChecked()
    dialog.deleteLater()

    export(qtbot, window, ExportOptions(str(tmp_path / "coco"), format="coco"))
    json_path = next((tmp_path / "coco" / "annotations").glob("instances_*.json"))
    coco = COCO(str(json_path))
    assert (tmp_path / "coco" / f"{document.name}_review.json").is_file()  # review marks: on by default
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["Object 1", "Second"]
    assert len(coco.getImgIds()) == document.frame_count

    expected = sorted(f for f, labels in original.items() if labels.any())
    imported = import_into_fresh_project(qtbot, window, small_video, tmp_path / "p2", json_path, expected)
    for frame, labels in original.items():
        got = imported.masks.get(frame)
        np.testing.assert_array_equal(got if got is not None else np.zeros_like(labels), labels)
    assert [(o.id, o.name) for o in imported.objects.objects()] == [(1, "Object 1"), (2, "Second")]
    imported.undo_stack.undo()  # the import is one undo step
    assert imported.masks.frames() == []
    assert window.errors == []


def test_yolo_seg_export_and_import(
    qtbot, window: MainWindow, small_video: Path, stroke, square: Box, tmp_path: Path
) -> None:
    original = painted_two_objects(window, small_video, stroke, square)
    export(qtbot, window, ExportOptions(str(tmp_path / "yolo"), format="yolo-seg", images=True))
    assert (tmp_path / "yolo" / "data.yaml").is_file()
    assert len(list((tmp_path / "yolo" / "images" / "train").glob("*.jpg"))) == window.document.frame_count
    expected = sorted(f for f, labels in original.items() if labels.any())
    imported = import_into_fresh_project(
        qtbot, window, small_video, tmp_path / "p2", tmp_path / "yolo", expected
    )
    for frame, labels in original.items():
        for object_id in (1, 2):
            if (labels == object_id).sum() >= 50:  # a tiny stroke is all boundary: the polygon is coarse
                assert iou(imported.masks.get(frame) == object_id, labels == object_id) >= 0.9
    assert window.errors == []


def test_a_cancelled_cvat_export_leaves_no_xml(
    qtbot, window: MainWindow, small_video: Path, stroke, square: Box, tmp_path: Path
) -> None:
    painted_two_objects(window, small_video, stroke, square)
    job = export_job_for(window.document, tmp_path / "cvat", format="cvat-video")
    worker: ExportWorker | None = None

    def masks(index: int) -> np.ndarray:
        if index == 5:
            worker.cancel()
        return np.zeros(window.document.size, np.uint8)

    worker = ExportWorker(job, masks)
    worker.run()
    assert worker.error == ExportWorker.CANCELLED_MESSAGE
    assert not (tmp_path / "cvat" / "annotations.xml").exists()
    assert not list((tmp_path / "cvat").glob(".*tmp*"))
