"""Export and import of a project's masks (plain Python, no Qt): the DAVIS layout (its format is
:mod:`vos_core.data.davis`) with the app's overlay video, and every format of
:mod:`vos_core.formats` (COCO, Ultralytics YOLO-seg, CVAT for video), all through the one frame loop
:func:`vos_core.export_frames` (progress, cancel, a failed or cancelled export leaves no partial
single file).

DAVIS export layout (``OUT`` = output folder, ``NAME`` = sequence name)::

    OUT/JPEGImages/480p/NAME/00000.jpg          the frames (original resolution)
    OUT/Annotations/480p/NAME/00000.png         palette label maps (original resolution; frames
                                                without a mask get an all-zero mask)
    OUT/ImageSets/480p/val.txt, ImageSets/2017/val.txt   sequence names (NAME added if missing)
    OUT/objects/<id>_<name>/00000.png           optional per-object binary masks (0/255)
    OUT/NAME_overlay.mp4                        optional overlay video (colour fill at 50%)
    OUT/NAME_review.json                        optional review marks (any format: which frames
                                                a person corrected or checked, vos_core.formats.review)

The other formats' layouts are in their modules. Every file is written atomically, so an
interrupted or failed export never leaves a half file.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.workers.overlay_video import OverlayVideoWriter, blend, colour_lut
from vos_core import (
    EXPORT_FORMATS,
    DavisWriter,
    ExportObject,
    ReviewMarks,
    VosError,
    VosInputError,
    describe_export,
    describe_lines,
    export_frames,
    format_writer,
    mask_file_name,
    open_source,
    read_annotations,
    read_labels,
    read_mask,
    review_file_name,
    safe_name,
    write_review,
)

if TYPE_CHECKING:  # annotations only: the export needs no app.model at run time
    from app.model.object_info import ObjectInfo

MaskProvider = Callable[[int], "np.ndarray | None"]

DAVIS = "davis"
#: format key -> label, DAVIS first
FORMAT_LABELS = {DAVIS: "DAVIS (palette PNGs, frames, ImageSets)"} | {
    key: info.label for key, info in EXPORT_FORMATS.items()
}
IMPORT_FORMATS = {key: info.label for key, info in EXPORT_FORMATS.items() if info.importable}


@dataclass(frozen=True)
class ExportJob:
    """What to export. ``masks_dir`` is a project's ``masks/`` folder (``%05d.png`` per frame);
    ``frames`` limits which of its files count (None: every file there)."""

    video_path: Path
    out_dir: Path
    name: str
    masks_dir: Path | None = None
    frames: frozenset[int] | None = None
    objects: tuple[ObjectInfo, ...] = ()
    per_object: bool = False
    overlay_video: bool = False
    jpeg_quality: int = 90
    overlay_alpha: float = 0.5
    format: str = DAVIS
    images: bool | None = None  # other formats: also write the frames (None: the format's default)
    review: ReviewMarks | None = None  # also write NAME_review.json (None: no review marks)
    warnings: list[str] = field(default_factory=list, compare=False)

    def export_objects(self) -> list[ExportObject]:
        return [ExportObject(info.id, info.name) for info in self.objects]


def mask_reader(job: ExportJob, hw: tuple[int, int]) -> MaskProvider:
    """Reads ``masks_dir/%05d.png``; an unreadable file counts as no mask (with a warning)."""

    def read(index: int) -> np.ndarray | None:
        if job.masks_dir is None or (job.frames is not None and index not in job.frames):
            return None
        path = job.masks_dir / mask_file_name(index)
        if not path.is_file():
            return None
        try:
            return read_mask(path, expected_hw=hw)
        except VosError as error:
            job.warnings.append(str(error))
            return None

    return read


class _DavisFrames:
    """The DAVIS layout (and the optional overlay video) as a frame writer for the one loop."""

    needs_images = True

    def __init__(self, writer: DavisWriter, video: OverlayVideoWriter | None, job: ExportJob) -> None:
        self.writer, self.video = writer, video
        self.lut, self.drawn = colour_lut({info.id: info.rgb for info in job.objects if info.visible})
        self.alpha = job.overlay_alpha

    def write(self, index: int, rgb: np.ndarray | None, labels: np.ndarray) -> None:
        assert rgb is not None
        self.writer.write(index, rgb, labels)
        if self.video is not None:
            self.video.write(blend(rgb, labels, self.lut, self.drawn, self.alpha))

    def finish(self) -> None:
        self.writer.finish()

    def abort(self) -> None:
        """Every DAVIS file is whole already; the overlay video is discarded by its own writer."""


def describe_job(job: ExportJob, n_frames: int) -> str:
    """What the export will write (files, objects, frames), for the dialog's preview."""
    name = safe_name(job.name)
    if job.format != DAVIS:
        text = describe_export(job.format, name, n_frames, job.export_objects(), job.images)
    else:
        extras = (", objects/<id>_<name>/… per object" if job.per_object else "") + (
            f", {name}_overlay.mp4" if job.overlay_video else ""
        )
        images = f"JPEGImages/480p/{name}/, Annotations/480p/{name}/ ({n_frames} JPEGs and palette PNGs)"
        text = describe_lines(f"{images}, ImageSets{extras}", job.export_objects(), n_frames)
    if job.review is not None:
        marks = job.review
        text += (
            f"\nReview marks: {review_file_name(name)} ({len(marks.corrected)} corrected, "
            f"{len(marks.reviewed)} reviewed)"
        )
    return text


def export_project(
    job: ExportJob,
    masks: MaskProvider | None = None,
    progress: Callable[[int, int], None] | None = None,
    check_cancelled: Callable[[], None] | None = None,
) -> Path:
    """Write the export of ``job`` in its format; returns the output folder. Raises ``VosError``
    with a user-facing message on failure; ``check_cancelled`` may raise to stop between frames."""
    out = Path(job.out_dir)
    with open_source(job.video_path) as source:
        hw, total = source.size, len(source)
        read_labels_of = masks or mask_reader(job, hw)

        def labels_of(index: int) -> np.ndarray:
            labels = read_labels_of(index)
            return np.zeros(hw, dtype=np.uint8) if labels is None else labels

        def rgb_of(index: int) -> np.ndarray:
            try:
                return source.read(index)
            except VosError as error:
                job.warnings.append(f"frame {index}: {error}")
                return np.zeros((*hw, 3), dtype=np.uint8)

        with contextlib.ExitStack() as stack:
            if job.format == DAVIS:
                objects = (
                    {info.id: f"{info.id}_{safe_name(info.name)}" for info in job.objects}
                    if job.per_object
                    else {}
                )
                davis = DavisWriter(out, job.name, objects, job.jpeg_quality)
                video = None
                if job.overlay_video:
                    video = stack.enter_context(
                        OverlayVideoWriter(out / f"{davis.name}_overlay.mp4", source.fps, hw)
                    )
                writer = _DavisFrames(davis, video, job)
            else:
                writer = format_writer(
                    job.format,
                    out,
                    safe_name(job.name),
                    job.export_objects(),
                    hw,
                    total,
                    job.images,
                    job.jpeg_quality,
                )
            export_frames(writer, total, labels_of, rgb_of, progress, check_cancelled)
        if job.review is not None:
            frames = job.frames if job.frames is not None else range(total)
            write_review(out, safe_name(job.name), job.review, frames, total)
    return out


def import_labels(
    path: str | Path, key: str, n_frames: int, hw: tuple[int, int]
) -> tuple[dict[int, np.ndarray], dict[int, str], list[str]]:
    """Label maps by frame, object names by id and the reader's notes (overlaps resolved, entries
    skipped) from a COCO JSON, a YOLO-seg folder or a CVAT for video XML."""
    imported = read_labels(key, path, n_frames, hw)
    return imported.masks, {obj.id: obj.name for obj in imported.objects}, imported.notes


def import_davis_annotations(
    folder: str | Path, n_frames: int, hw: tuple[int, int], name: str | None = None
) -> dict[int, np.ndarray]:
    """Label maps by frame from a folder of ``%05d.png`` palette masks or a DAVIS root
    (:func:`vos_core.data.davis.read_annotations`)."""
    return read_annotations(folder, n_frames, hw, name)


def import_mask_file(
    path: str | Path, n_frames: int, hw: tuple[int, int], default_frame: int
) -> dict[int, np.ndarray]:
    """One mask image (palette, grayscale or DAVIS-colour PNG) for the frame its name gives (the last
    number in the file name, e.g. ``00012.png`` or ``frame_12.png``), or ``default_frame`` when the
    name has no number. Raises ``VosInputError`` for a frame past the end or a size mismatch."""
    mask_path = Path(path)
    numbers = re.findall(r"\d+", mask_path.stem)
    frame = int(numbers[-1]) if numbers else int(default_frame)
    if not 0 <= frame < n_frames:
        raise VosInputError(
            f"{mask_path.name} is for frame {frame}, but the video has frames 0-{n_frames - 1}"
        )
    return {frame: read_mask(mask_path, hw)}


def drop_empty(masks: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    """The masks that contain at least one object pixel (an export writes zeros everywhere)."""
    return {index: labels for index, labels in masks.items() if labels.any()}
