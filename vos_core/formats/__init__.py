"""Annotation formats that training pipelines and annotation servers read (Qt-free).

One module per format, each a streaming writer (:class:`vos_core.formats.base.FrameWriter`) and,
where the format has one, a reader that gives label maps back:

* ``coco``: COCO instance segmentation JSON, RLE masks through pycocotools (:mod:`.coco`);
* ``yolo-seg``: Ultralytics YOLO-seg polygons and ``data.yaml`` (:mod:`.yolo_seg`);
* ``cvat-video``: CVAT for video 1.1 XML with mask RLE as CVAT writes it (:mod:`.cvat_video`);
* the review marks (which frames a person corrected or checked), one sidecar beside any export
  (:mod:`.review`).

The DAVIS layout stays in :mod:`vos_core.data.davis`. Every export goes through the one frame loop,
:func:`vos_core.formats.base.export_frames` (progress, cancel, abort on failure); :func:`format_writer`
builds a format's writer and :func:`describe_export` says what an export will write.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vos_core.errors import VosInputError
from vos_core.formats.base import ExportObject, ExportTarget, FrameWriter, Imported, export_frames


@dataclass(frozen=True)
class FormatInfo:
    """A format: its key, a label for menus, whether it can be imported, and whether its export
    includes the frames by default."""

    key: str
    label: str
    importable: bool
    images_by_default: bool


EXPORT_FORMATS: dict[str, FormatInfo] = {
    "coco": FormatInfo("coco", "COCO instance segmentation (JSON, RLE masks)", True, False),
    "yolo-seg": FormatInfo("yolo-seg", "Ultralytics YOLO-seg (polygons, data.yaml)", True, True),
    "cvat-video": FormatInfo("cvat-video", "CVAT for video 1.1 (XML, mask RLE)", True, False),
}


def format_info(key: str) -> FormatInfo:
    if key not in EXPORT_FORMATS:
        raise VosInputError(f"unknown format {key!r} (known: {', '.join(EXPORT_FORMATS)})")
    return EXPORT_FORMATS[key]


def format_writer(
    key: str,
    out: str | Path,
    name: str,
    objects: Sequence[ExportObject],
    hw: tuple[int, int],
    n_frames: int,
    images: bool | None = None,
    jpeg_quality: int = 90,
) -> FrameWriter:
    """The writer of format ``key`` into folder ``out`` (created); ``images`` None: the format's
    default. Raises ``VosInputError`` for an unknown format or an unwritable folder."""
    info = format_info(key)
    with_images = info.images_by_default if images is None else images
    target = ExportTarget(Path(out), name, tuple(objects), hw, n_frames, with_images, jpeg_quality)
    if key == "coco":
        from vos_core.formats.coco import CocoWriter

        return CocoWriter(target)
    if key == "yolo-seg":
        from vos_core.formats.yolo_seg import YoloSegWriter

        return YoloSegWriter(target)
    from vos_core.formats.cvat_video import CvatVideoWriter

    return CvatVideoWriter(target)


def describe_export(
    key: str, name: str, n_frames: int, objects: Sequence[ExportObject], images: bool | None = None
) -> str:
    """What an export of format ``key`` will write: three lines, ``Files: …``, ``Objects: …``,
    ``Frames: …``."""
    info = format_info(key)
    with_images = info.images_by_default if images is None else images
    names = sorted({obj.name for obj in objects})
    if key == "coco":
        files = f"annotations/instances_{name}.json (one image per frame, RLE masks)"
        pictures = f"images/{name}/00000.jpg …"
    elif key == "yolo-seg":
        files = f"data.yaml, labels/train/{name}_00000.txt … ({n_frames} text files)"
        pictures = f"images/train/{name}_00000.jpg …"
    else:
        files = "annotations.xml (one mask track per object and frame, object id in group_id)"
        pictures = "images/frame_000000.jpg …"
    if with_images:
        files += f", {pictures} ({n_frames} JPEGs)"
    return describe_lines(
        files, objects, n_frames, f"in {len(names)} categor{'ies' if len(names) != 1 else 'y'}"
    )


def describe_lines(files: str, objects: Sequence[ExportObject], n_frames: int, grouping: str = "") -> str:
    """The preview's three lines for any export (the app's DAVIS export uses it too)."""
    names = ", ".join(sorted({obj.name for obj in objects})) or "none"
    count = f"{len(objects)} {grouping}".strip()
    return f"Files: {files}\nObjects: {count} ({names})\nFrames: {n_frames}"


def read_labels(key: str, path: str | Path, n_frames: int, hw: tuple[int, int]) -> Imported:
    """Import format ``key`` from ``path`` (a COCO JSON, a YOLO-seg folder, a CVAT XML or its
    folder) as label maps for a video of ``n_frames`` frames of size ``hw``."""
    format_info(key)
    if key == "coco":
        from vos_core.formats.coco import read_coco

        return read_coco(path, n_frames, hw)
    if key == "yolo-seg":
        from vos_core.formats.yolo_seg import read_yolo_seg

        return read_yolo_seg(path, n_frames, hw)
    from vos_core.formats.cvat_video import read_cvat_video

    return read_cvat_video(path, n_frames, hw)


def guess_format(path: str | Path) -> str:
    """The format of an import path: a ``.json`` is COCO, an ``.xml`` (or a folder with
    ``annotations.xml``) CVAT, a folder with ``data.yaml`` or ``.txt`` labels YOLO-seg."""
    target = Path(path)
    if target.suffix.lower() == ".json":
        return "coco"
    if target.suffix.lower() == ".xml" or (target / "annotations.xml").is_file():
        return "cvat-video"
    if target.is_dir() and ((target / "data.yaml").is_file() or any(target.rglob("*.txt"))):
        return "yolo-seg"
    raise VosInputError(
        f"cannot tell the format of {target}: expected a COCO .json, a CVAT .xml or a YOLO folder"
    )


__all__ = [
    "EXPORT_FORMATS",
    "ExportObject",
    "FormatInfo",
    "FrameWriter",
    "Imported",
    "describe_export",
    "describe_lines",
    "export_frames",
    "format_info",
    "guess_format",
    "read_labels",
    "format_writer",
]
