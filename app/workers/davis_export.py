"""DAVIS-format export and import of a project's masks (plain Python, no Qt).

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
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from app.model.object_info import ObjectInfo
from app.workers.overlay_video import OverlayVideoWriter, blend, colour_lut
from vos_core.data.atomic import atomic_write_bytes
from vos_core.data.frames import open_source
from vos_core.data.masks import masks_from_folder, read_mask, write_mask
from vos_core.errors import VosError, VosInputError

RESOLUTION = "480p"
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


def safe_name(name: str) -> str:
    """A file-system friendly version of an object or sequence name."""
    cleaned = re.sub(r"[^\w\-. ]+", "_", name, flags=re.UNICODE).strip(" .")
    return cleaned.replace(" ", "_") or "unnamed"


def mask_reader(job: ExportJob, hw: tuple[int, int]) -> MaskProvider:
    """Reads ``masks_dir/%05d.png``; an unreadable file counts as no mask (with a warning)."""

    def read(index: int) -> np.ndarray | None:
        if job.masks_dir is None or (job.frames is not None and index not in job.frames):
            return None
        path = job.masks_dir / f"{index:05d}.png"
        if not path.is_file():
            return None
        try:
            return read_mask(path, expected_hw=hw)
        except VosError as error:
            job.warnings.append(str(error))
            return None

    return read


def _jpeg_bytes(rgb: np.ndarray, quality: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=int(quality))
    return buffer.getvalue()


def _binary_png(mask: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray((mask * 255).astype(np.uint8), mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def _add_to_list(path: Path, name: str) -> None:
    names: list[str] = []
    if path.is_file():
        with contextlib.suppress(OSError, UnicodeDecodeError):
            names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    names = [n for n in names if n]
    if name not in names:
        names.append(name)
    atomic_write_bytes(path, ("\n".join(names) + "\n").encode("utf-8"))


def _make_dirs(*folders: Path) -> None:
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise VosInputError(f"Cannot create {folder}: {error.strerror or error}") from error


def export_davis(
    job: ExportJob,
    masks: MaskProvider | None = None,
    progress: Callable[[int, int], None] | None = None,
    check_cancelled: Callable[[], None] | None = None,
) -> Path:
    """Write the DAVIS export of ``job``; returns the output folder. Raises ``VosError`` with a
    user-facing message on failure; ``check_cancelled`` may raise to stop between frames."""
    out = Path(job.out_dir)
    name = safe_name(job.name)
    images = out / "JPEGImages" / RESOLUTION / name
    annotations = out / "Annotations" / RESOLUTION / name
    per_object = (
        {info.id: out / "objects" / f"{info.id}_{safe_name(info.name)}" for info in job.objects}
        if job.per_object
        else {}
    )
    _make_dirs(
        images, annotations, out / "ImageSets" / RESOLUTION, out / "ImageSets" / "2017", *per_object.values()
    )
    with open_source(job.video_path) as source:
        hw, total = source.size, len(source)
        read_labels = masks or mask_reader(job, hw)
        colours = {info.id: info.rgb for info in job.objects if info.visible}
        lut, drawn = colour_lut(colours)
        with contextlib.ExitStack() as stack:
            video = None
            if job.overlay_video:
                video = stack.enter_context(OverlayVideoWriter(out / f"{name}_overlay.mp4", source.fps, hw))
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
                file = f"{index:05d}"
                atomic_write_bytes(images / f"{file}.jpg", _jpeg_bytes(rgb, job.jpeg_quality))
                write_mask(annotations / f"{file}.png", labels)
                for object_id, folder in per_object.items():
                    atomic_write_bytes(folder / f"{file}.png", _binary_png(labels == object_id))
                if video is not None:
                    video.write(blend(rgb, labels, lut, drawn, job.overlay_alpha))
                if progress is not None:
                    progress(index + 1, total)
    for folder in (RESOLUTION, "2017"):
        _add_to_list(out / "ImageSets" / folder / "val.txt", name)
    return out


def find_annotation_folder(folder: str | Path, name: str | None = None) -> Path:
    """Where the masks are: ``folder`` itself, or, for a DAVIS root, ``Annotations/<res>/<name>``
    (``name`` may be omitted when the root holds exactly one sequence)."""
    root = Path(folder)
    annotations = root / "Annotations"
    if not annotations.is_dir():
        return root
    candidates = sorted(
        seq for res in annotations.iterdir() if res.is_dir() for seq in res.iterdir() if seq.is_dir()
    )
    if name is not None:
        candidates = [seq for seq in candidates if seq.name == name]
    by_name = {seq.name for seq in candidates}
    if len(by_name) != 1:
        listed = ", ".join(sorted(by_name)) or "none"
        raise VosInputError(
            f"{root} is a DAVIS folder with {len(by_name)} matching sequences ({listed}): "
            f"choose the sequence's own folder under Annotations"
        )
    preferred = [seq for seq in candidates if seq.parent.name == RESOLUTION]
    return (preferred or candidates)[0]


def import_davis_annotations(
    folder: str | Path, n_frames: int, hw: tuple[int, int], name: str | None = None
) -> dict[int, np.ndarray]:
    """Label maps by frame from a folder of ``%05d.png`` palette masks (or a DAVIS root).
    Raises ``VosInputError`` for a missing folder, a frame past the end or a size mismatch."""
    return masks_from_folder(find_annotation_folder(folder, name), n_frames, hw)


def drop_empty(masks: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    """The masks that contain at least one object pixel (an export writes zeros everywhere)."""
    return {index: labels for index, labels in masks.items() if labels.any()}
