"""DAVIS-format export and import of a project's masks (plain Python, no Qt). The format itself
(layout, writer, reader) is :mod:`vos_core.data.davis`; this module adds the app's job, masks and
overlay video.

Export layout (``OUT`` = output folder, ``NAME`` = sequence name)::

    OUT/JPEGImages/480p/NAME/00000.jpg          the frames (original resolution)
    OUT/Annotations/480p/NAME/00000.png         palette label maps (original resolution; frames
                                                without a mask get an all-zero mask)
    OUT/ImageSets/480p/val.txt, ImageSets/2017/val.txt   sequence names (NAME added if missing)
    OUT/objects/<id>_<name>/00000.png           optional per-object binary masks (0/255)
    OUT/NAME_overlay.mp4                        optional overlay video (colour fill at 50%)

Every file is written atomically, so an interrupted or failed export never leaves a half file.
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
    DavisWriter,
    VosError,
    VosInputError,
    mask_file_name,
    open_source,
    read_annotations,
    read_mask,
    safe_name,
)

if TYPE_CHECKING:  # annotations only: the export needs no app.model at run time
    from app.model.object_info import ObjectInfo

MaskProvider = Callable[[int], "np.ndarray | None"]


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
    warnings: list[str] = field(default_factory=list, compare=False)


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


def export_davis(
    job: ExportJob,
    masks: MaskProvider | None = None,
    progress: Callable[[int, int], None] | None = None,
    check_cancelled: Callable[[], None] | None = None,
) -> Path:
    """Write the DAVIS export of ``job``; returns the output folder. Raises ``VosError`` with a
    user-facing message on failure; ``check_cancelled`` may raise to stop between frames."""
    out = Path(job.out_dir)
    objects = {info.id: f"{info.id}_{safe_name(info.name)}" for info in job.objects} if job.per_object else {}
    writer = DavisWriter(out, job.name, objects, job.jpeg_quality)
    with open_source(job.video_path) as source:
        hw, total = source.size, len(source)
        read_labels = masks or mask_reader(job, hw)
        colours = {info.id: info.rgb for info in job.objects if info.visible}
        lut, drawn = colour_lut(colours)
        with contextlib.ExitStack() as stack:
            video = None
            if job.overlay_video:
                video = stack.enter_context(
                    OverlayVideoWriter(out / f"{writer.name}_overlay.mp4", source.fps, hw)
                )
            for index in range(total):
                if check_cancelled is not None:
                    check_cancelled()
                try:
                    rgb = source.read(index)
                except VosError as error:
                    job.warnings.append(f"frame {index}: {error}")
                    rgb = np.zeros((*hw, 3), dtype=np.uint8)
                labels = read_labels(index)
                if labels is None:
                    labels = np.zeros(hw, dtype=np.uint8)
                writer.write(index, rgb, labels)
                if video is not None:
                    video.write(blend(rgb, labels, lut, drawn, job.overlay_alpha))
                if progress is not None:
                    progress(index + 1, total)
    writer.finish()
    return out


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
