"""DAVIS export / import workers."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from synthetic_video import SyntheticVideo

from app.model.document import Document
from app.workers.export import (
    ExportJob,
    ExportWorker,
    ImportWorker,
    export_job_for,
    import_davis_annotations,
)
from vos_core.errors import VosInputError
from vos_core.formats.review import read_review

TIMEOUT = 60_000


@pytest.fixture
def document(qtbot, video: SyntheticVideo):
    doc = Document.open(video.path)
    doc.add_object("square")
    doc.add_object("stripe", "#00ff00")
    for frame in (0, 3, 4, 10):
        labels = video.masks[frame].copy()
        labels[:6, :20] = 2
        doc.edit_mask(frame, labels)
    yield doc
    doc.close()


def expected_masks(document: Document) -> dict[int, np.ndarray]:
    empty = np.zeros(document.size, np.uint8)
    return {i: document.masks.get(i) if document.masks.has_mask(i) else empty for i in range(20)}


def test_export_then_import_gives_identical_masks(
    no_thread_leaks, qtbot, tmp_path: Path, document: Document
) -> None:
    out = tmp_path / "davis"
    job = export_job_for(document, out, per_object=True, overlay_video=True)
    worker = ExportWorker(job)
    progress: list[tuple[int, int]] = []
    threads: set[str] = set()
    worker.progress.connect(lambda done, total: progress.append((done, total)))
    worker.progress.connect(lambda *_: threads.add(threading.current_thread().name))
    with qtbot.waitSignal(worker.finished, timeout=TIMEOUT) as finished:
        worker.start()
    assert worker.wait(TIMEOUT)
    assert finished.args == [str(out)] and progress[-1] == (20, 20)
    assert threads == {threading.main_thread().name}  # signals arrive on the GUI thread

    annotations = out / "Annotations" / "480p" / "square"
    assert sorted(p.name for p in annotations.iterdir()) == [f"{i:05d}.png" for i in range(20)]
    with Image.open(annotations / "00003.png") as image:
        assert image.mode == "P" and image.size == (128, 96)
    with Image.open(out / "JPEGImages" / "480p" / "square" / "00019.jpg") as image:
        assert image.size == (128, 96)
    for folder in ("480p", "2017"):
        assert (out / "ImageSets" / folder / "val.txt").read_text() == "square\n"
    stripe = np.array(Image.open(out / "objects" / "2_stripe" / "00004.png"))
    assert set(np.unique(stripe)) == {0, 255} and stripe[:6, :20].all()
    assert (out / "objects" / "1_square" / "00019.png").is_file()
    with av.open(str(out / "square_overlay.mp4")) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 20 and frames[0].shape == (96, 128, 3)
    assert not list(out.glob(".*tmp*"))

    imported = import_davis_annotations(out, 20, document.size)
    expected = expected_masks(document)
    assert sorted(imported) == list(range(20))
    for frame in range(20):
        np.testing.assert_array_equal(imported[frame], expected[frame])

    reader = ImportWorker(out, 20, document.size)
    with qtbot.waitSignal(reader.finished, timeout=TIMEOUT) as loaded:
        reader.start()
    assert reader.wait(TIMEOUT)
    assert sorted(loaded.args[0]) == [0, 3, 4, 10]  # empty masks are not annotations


def test_import_back_into_a_document(qtbot, tmp_path: Path, document: Document, video) -> None:
    out = tmp_path / "davis"
    ExportWorker(export_job_for(document, out)).run()
    other = Document.open(video.path, tmp_path / "fresh.vosproj")
    try:
        reader = ImportWorker(out / "Annotations" / "480p" / "square", 20, other.size)
        reader.run()
        other.import_masks(reader.result)
        assert other.masks.annotated_frames() == [0, 3, 4, 10]
        assert other.objects.ids() == [1, 2]
        for frame in (0, 3, 4, 10):
            np.testing.assert_array_equal(other.masks.get(frame), document.masks.get(frame))
    finally:
        other.close()


def test_second_sequence_is_added_to_the_lists(tmp_path: Path, document: Document) -> None:
    out = tmp_path / "davis"
    ExportWorker(export_job_for(document, out)).run()
    ExportWorker(export_job_for(document, out, name="copy two")).run()
    assert (out / "ImageSets" / "480p" / "val.txt").read_text() == "square\ncopy_two\n"
    with pytest.raises(VosInputError, match="2 matching sequences"):
        import_davis_annotations(out, 20, document.size)
    assert sorted(import_davis_annotations(out, 20, document.size, name="copy_two")) == list(range(20))


def test_unwritable_output_fails_cleanly(qtbot, tmp_path: Path, document: Document) -> None:
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    worker = ExportWorker(export_job_for(document, blocker / "out"))
    with qtbot.waitSignal(worker.failed, timeout=TIMEOUT) as failed:
        worker.start()
    assert worker.wait(TIMEOUT)
    assert "Cannot create" in failed.args[0]
    assert document.masks.get(3) is not None and document.project.mask_path(3).is_file()


def test_write_error_mid_export(
    qtbot, tmp_path: Path, document: Document, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vos_core.data import davis as davis_export  # the DAVIS writer writes the masks

    calls = {"n": 0}
    original = davis_export.write_mask

    def disk_full(path, labels):
        calls["n"] += 1
        if calls["n"] == 5:
            raise VosInputError(f"Cannot write {path}: No space left on device")
        original(path, labels)

    monkeypatch.setattr(davis_export, "write_mask", disk_full)
    worker = ExportWorker(export_job_for(document, tmp_path / "out", overlay_video=True))
    worker.run()
    assert worker.error is not None and "No space left" in worker.error
    assert not (tmp_path / "out" / "square_overlay.mp4").exists()  # no half video
    assert not list((tmp_path / "out").glob("*.tmp*"))


def test_cancel(
    no_thread_leaks, qtbot, tmp_path: Path, document: Document, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vos_core.data import davis as davis_export  # the DAVIS writer writes the masks

    original = davis_export.write_mask

    def slow_write(path, labels):
        time.sleep(0.05)
        original(path, labels)

    monkeypatch.setattr(davis_export, "write_mask", slow_write)
    worker = ExportWorker(export_job_for(document, tmp_path / "out"))
    worker.progress.connect(lambda done, total: worker.cancel() if done == 2 else None)
    with qtbot.waitSignal(worker.failed, timeout=TIMEOUT) as failed:
        worker.start()
    assert worker.wait(TIMEOUT)
    assert failed.args == ["Export cancelled"]
    written = list((tmp_path / "out" / "Annotations" / "480p" / "square").iterdir())
    assert 2 <= len(written) < 20


def test_import_errors(tmp_path: Path) -> None:
    with pytest.raises(VosInputError, match="not found"):
        import_davis_annotations(tmp_path / "nothing", 20, (96, 128))
    masks = tmp_path / "masks"
    masks.mkdir()
    Image.fromarray(np.zeros((96, 128), np.uint8), mode="L").save(masks / "00025.png")
    with pytest.raises(VosInputError, match="only 20 frames"):
        import_davis_annotations(masks, 20, (96, 128))
    worker = ImportWorker(masks, 20, (96, 128))
    worker.run()
    assert worker.error is not None and "only 20 frames" in worker.error


def test_export_job_defaults(tmp_path: Path, video: SyntheticVideo) -> None:
    job = ExportJob(video.path, tmp_path / "plain", "clip")
    ExportWorker(job).run()
    mask = np.array(Image.open(tmp_path / "plain" / "Annotations" / "480p" / "clip" / "00000.png"))
    assert mask.shape == (96, 128) and not mask.any()


@pytest.mark.parametrize("fmt", ["davis", "coco"])
def test_export_carries_the_review_marks(qtbot, tmp_path: Path, document: Document, video, fmt: str) -> None:
    """Corrections and reviewed frames reach the export's review sidecar, in every format."""
    document.masks.set(7, video.masks[7], "propagated")
    assert document.mark_reviewed(7).startswith("Frame 7 marked reviewed")
    job = export_job_for(document, tmp_path / fmt, format=fmt, review=True)
    ExportWorker(job).run()
    marks = read_review(tmp_path / fmt / f"{job.name}_review.json")
    assert marks.corrected == set(document.reference_frames()) == {0, 3, 4, 10}
    assert marks.reviewed == {7}
    plain = export_job_for(document, tmp_path / "plain", format=fmt)
    ExportWorker(plain).run()
    assert not list((tmp_path / "plain").glob("*_review.json"))  # only when asked
