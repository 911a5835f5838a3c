"""Bad inputs through the app layer: ``Document.open``, mask import, the export worker, autosave and
the engine. Each gives one clear line, loses nothing and writes nothing half-way."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from app.model.document import Document
from app.model.project import Project, default_project_dir
from app.workers.export import ExportWorker, ImportWorker, export_job_for
from tests.reliability import corpus
from vos_core.errors import ProjectError, VosError

Builder = Callable[[Path], Path]


def one_line(message: object) -> str:
    text = str(message)
    assert text and "\n" not in text and "Traceback" not in text, text
    return text


@pytest.fixture
def document(qapp, tmp_path: Path) -> Iterator[Document]:
    """A 12-frame video with a user mask on frame 0 and one object, saved."""
    doc = Document.open(corpus.good_video(tmp_path), autosave_ms=10)
    doc.add_object("square")
    doc.edit_mask(0, corpus.first_mask())
    assert doc.save()
    yield doc
    doc.close()


def no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if ".tmp" in p.name]


# ---------------------------------------------------------------------------- opening
REFUSED: dict[str, tuple[Builder, str]] = {
    "zero-byte video": (corpus.zero_byte_video, "empty (0 bytes)"),
    "text file named .mp4": (corpus.text_named_mp4, "not a readable video"),
    "truncated mp4": (corpus.truncated_mp4, "not a readable video"),
    "mixed image sizes": (corpus.mixed_size_folder, "same size"),
    "folder without images": (corpus.folder_without_images, "No images"),
    "text file named .png": (corpus.folder_with_fake_image, "00004.png"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_open_refuses_and_creates_nothing(qapp, case: str, tmp_path: Path) -> None:
    build, text = REFUSED[case]
    path = build(tmp_path)
    before = corpus.snapshot(tmp_path)
    with pytest.raises(VosError) as error:
        Document.open(path)
    assert text in one_line(error.value)
    assert corpus.snapshot(tmp_path) == before and not default_project_dir(path).exists()


def test_open_keeps_the_good_frames_of_damaged_inputs(qapp, tmp_path: Path) -> None:
    for build, frames in ((corpus.truncated_mkv, 10), (corpus.folder_with_non_images, 6)):
        doc = Document.open(build(tmp_path))
        try:
            assert doc.frame_count == frames and all(doc.frame(i).any() for i in range(frames))
        finally:
            doc.close()
    doc = Document.open(corpus.midway_corrupt_video(tmp_path))
    problems: list[str] = []
    doc.problem.connect(problems.append)
    try:
        assert doc.frame_count == 30
        assert doc.frame(11).any() and doc.frame(20).any()
        assert not doc.frame(12).any()  # shown black, and reported
        assert len(problems) == 1 and "Frame 12" in one_line(problems[0])
    finally:
        doc.close()


@pytest.mark.parametrize("damage", [corpus.make_project_newer, corpus.make_project_corrupt])
def test_bad_project_file_is_refused_untouched(document: Document, damage: Callable[[Path], None]) -> None:
    project_dir, video = document.project.directory, document.video_path
    document.close()
    damage(project_dir / "project.json")
    before = corpus.snapshot(project_dir)
    with pytest.raises(ProjectError) as error:
        Document.open(video)
    assert ("newer version" if damage is corpus.make_project_newer else "corrupt") in one_line(error.value)
    assert corpus.snapshot(project_dir) == before


# ---------------------------------------------------------------------------- importing masks
BAD_MASKS: dict[str, tuple[Builder, str]] = {
    "wrong size": (corpus.wrong_size_mask, "32×24"),
    "unknown colours": (corpus.rgb_unknown_colours_mask, "not in the DAVIS palette"),
    "labels above 255": (corpus.labels_over_255_mask, "at most 255 objects"),
    "not an image": (corpus.text_mask, "cannot identify"),
}


@pytest.mark.parametrize("case", sorted(BAD_MASKS))
def test_import_refuses_bad_masks(case: str, document: Document, tmp_path: Path) -> None:
    build, text = BAD_MASKS[case]
    before, steps = corpus.snapshot(document.project.directory), document.undo_stack.count()
    worker = ImportWorker(build(tmp_path), document.frame_count, document.size)
    worker.run()
    assert worker.error is not None and text in one_line(worker.error)
    assert document.masks.frames() == [0] and document.undo_stack.count() == steps
    assert document.save() and corpus.snapshot(document.project.directory) == before


def test_import_rgb_palette_mask_and_out_of_range_labels(document: Document, tmp_path: Path) -> None:
    worker = ImportWorker(corpus.rgb_palette_mask(tmp_path), document.frame_count, document.size)
    imported: list[dict[int, np.ndarray]] = []
    worker.finished.connect(imported.append)
    worker.run()
    expected = corpus.first_mask()
    expected[0:8, 40:56] = 2
    document.import_masks(imported[0])
    np.testing.assert_array_equal(document.mask(0), expected)
    assert document.objects.ids() == [1, 2]
    too_many = {3: np.full(document.size, 300, np.int32), 4: expected}
    steps = document.undo_stack.count()
    with pytest.raises(ValueError, match="0..255"):
        document.import_masks(too_many)  # refused as a whole: frame 4 is not imported either
    assert document.masks.frames() == [0] and document.undo_stack.count() == steps


def test_more_objects_than_the_palette_holds(document: Document) -> None:
    for _ in range(254):
        document.add_object()
    assert len(document.objects) == 255
    with pytest.raises(ValueError, match="all 255 object ids are in use"):
        document.add_object()
    with pytest.raises(ValueError, match="1..255, got 300"):
        document.objects.ensure(300)
    assert document.save()
    assert len(Project.open_for(document.video_path).objects) == 255


# ---------------------------------------------------------------------------- export
def test_export_to_a_read_only_folder(
    document: Document, tmp_path: Path, make_read_only: Callable[[Path], Path]
) -> None:
    done = tmp_path / "done"
    ExportWorker(export_job_for(document, done)).run()  # a previous export, then locked
    previous = corpus.snapshot(done)
    locked = tmp_path / "locked"
    locked.mkdir()
    make_read_only(locked)
    make_read_only(done)
    for out in (locked / "out", done):
        worker = ExportWorker(export_job_for(document, out))
        worker.run()
        assert worker.error is not None and "Permission denied" in one_line(worker.error)
    assert list(locked.iterdir()) == [] and corpus.snapshot(done) == previous


def test_export_on_a_full_disk(
    document: Document, tmp_path: Path, disk_full: Callable[[], None]
) -> None:
    job = export_job_for(document, tmp_path / "out", per_object=True, overlay_video=True)
    before = corpus.snapshot(document.project.directory)
    disk_full()
    worker = ExportWorker(job)
    worker.run()
    assert worker.error is not None and "No space left on device" in one_line(worker.error)
    assert [p for p in (tmp_path / "out").rglob("*") if p.is_file()] == []  # not one (half) file
    document.edit_mask(5, corpus.first_mask())  # an edit that cannot be saved is not exported stale
    with pytest.raises(ProjectError, match="before every mask is saved.*No space left") as error:
        export_job_for(document, tmp_path / "out2")
    one_line(error.value)
    assert corpus.snapshot(document.project.directory) == before


def test_export_of_a_damaged_video_reports_the_bad_frames(qapp, tmp_path: Path) -> None:
    doc = Document.open(corpus.midway_corrupt_video(tmp_path))
    try:
        doc.edit_mask(12, corpus.first_mask())
        worker = ExportWorker(export_job_for(doc, tmp_path / "out"))
        worker.run()
    finally:
        doc.close()
    assert worker.error is None
    assert len(worker.warnings) == 3 and all("could not be decoded" in one_line(w) for w in worker.warnings)
    annotations = tmp_path / "out" / "Annotations" / "480p" / "midway"
    assert len(list(annotations.iterdir())) == 30  # every frame, the user mask of frame 12 too
    assert (annotations / "00012.png").stat().st_size > 0


# ---------------------------------------------------------------------------- autosave
def test_autosave_on_a_full_disk_keeps_the_edit(
    document: Document, disk_full: Callable[[], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    project_dir = document.project.directory
    before = corpus.snapshot(project_dir)
    problems: list[str] = []
    document.problem.connect(problems.append)
    disk_full()
    edit = np.roll(corpus.first_mask(), 5, axis=1)
    document.edit_mask(3, edit)
    document.add_object("second")
    assert not document.save()
    assert problems and "No space left on device" in one_line(problems[-1])
    assert corpus.snapshot(project_dir) == before and no_temp_files(project_dir)
    np.testing.assert_array_equal(document.mask(3), edit)  # kept in memory, retried
    monkeypatch.undo()
    assert document.save()
    reopened = Project.open_for(document.video_path)
    np.testing.assert_array_equal(reopened.read_mask(3), edit)
    assert [info.name for info in reopened.objects] == ["square", "second"]


def test_read_only_project_opens_and_keeps_edits_in_memory(
    document: Document, make_read_only: Callable[[Path], Path]
) -> None:
    project_dir, video = document.project.directory, document.video_path
    document.close()
    before = corpus.snapshot(project_dir)
    make_read_only(project_dir)
    doc = Document.open(video)
    try:
        assert any("Cannot save the project" in one_line(p) for p in doc.project.problems)
        np.testing.assert_array_equal(doc.mask(0), corpus.first_mask())
        doc.edit_mask(1, corpus.first_mask())
        assert not doc.save() and doc.masks.pending == 1
        assert doc.mask(1) is not None
    finally:
        doc.close()
    assert corpus.snapshot(project_dir) == before
