"""CVAT for video 1.1 XML with masks as CVAT writes them, so a project moves into CVAT.

Layout: ``OUT/annotations.xml`` (and ``OUT/images/frame_000000.jpg`` ... with ``images=True``, the
names CVAT gives video frames in its own dataset export).

What CVAT's own exporter writes for a mask (``cvat/apps/dataset_manager/formats/cvat.py``): masks
are shapes, never interpolated tracks, and "CVAT for video" dumps each shape as a single-frame
``<track>``: a keyframe ``<mask>`` on its frame, then an ``outside="1"`` copy on the next frame when
that is not past the task's last frame. A ``<mask>`` carries ``rle``, ``left``, ``top``, ``width``,
``height``: the mask cropped to its inclusive bounding box, run-length encoded in row-major order
starting with a run of background (possibly 0), counts separated by ``", "``. CVAT's importer turns a
mask track into one shape from its *first* shape only, which is why a mask per frame gets its own
track. We write the same, and keep each object's identity in the track's ``group_id`` (= object
id; CVAT keeps groups on import) and its name as the label (``<type>mask</type>`` in the meta).

The XML is streamed to a temporary file frame by frame (flat memory) and renamed into place when
complete. :func:`read_cvat_video` reads it back (and multi-frame mask tracks, taking every keyframe
shape that is not outside).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from xml.etree import ElementTree
from xml.sax.saxutils import quoteattr

import numpy as np

from vos_core.data.box import mask_box
from vos_core.data.masks import davis_palette
from vos_core.errors import VosInputError
from vos_core.formats.base import (
    AtomicTextFile,
    ExportObject,
    ExportTarget,
    Imported,
    TargetWriter,
    assign_ids,
    compose_frames,
    jpeg_bytes,
    make_dirs,
    object_masks,
    write_bytes,
)


def rle_encode(crop: np.ndarray) -> list[int]:
    """CVAT's mask RLE of a bool crop: run lengths in row-major order, first a background run."""
    flat = crop.ravel()
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    runs = np.diff(bounds).tolist()
    return runs if not flat[0] else [0, *runs]


def rle_decode(runs: Sequence[int], width: int, height: int) -> np.ndarray:
    """The ``height×width`` bool crop of CVAT's RLE (:func:`rle_encode`)."""
    counts = np.asarray(runs, dtype=np.int64)
    if counts.sum() != width * height:
        raise ValueError(f"RLE covers {int(counts.sum())} pixels, the box {width}x{height}")
    values = np.arange(len(counts)) % 2 == 1
    return np.repeat(values, counts).reshape(height, width)


def _attrs(items: dict[str, object]) -> str:
    return " ".join(f"{key}={quoteattr(str(value))}" for key, value in items.items())


class CvatVideoWriter(TargetWriter):
    """Streams ``annotations.xml`` in CVAT for video 1.1; see the module docstring."""

    def __init__(self, target: ExportTarget) -> None:
        super().__init__(target)
        name, hw, n_frames, images = target.name, target.hw, target.n_frames, target.images
        self.images_dir = self.out / "images"
        make_dirs(self.out, *([self.images_dir] if images else []))
        self._next_track = 0
        self._file = AtomicTextFile(self.out / "annotations.xml")
        height, width = hw
        palette = davis_palette()
        labels: dict[str, int] = {}
        for obj in self.objects:
            labels.setdefault(obj.name, obj.id)
        label_xml = "".join(
            f"\n        <label>\n          <name>{_text(lname)}</name>\n"
            f"          <color>#{''.join(f'{c:02x}' for c in palette[colour])}</color>\n"
            f"          <type>mask</type>\n          <attributes>\n          </attributes>\n        </label>"
            for lname, colour in labels.items()
        )
        self._file.write(
            '<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n  <version>1.1</version>\n  <meta>\n'
            f"    <task>\n      <id>0</id>\n      <name>{_text(name)}</name>\n      <size>{n_frames}</size>\n"
            "      <mode>interpolation</mode>\n      <overlap>0</overlap>\n      <bugtracker></bugtracker>\n"
            "      <flipped>False</flipped>\n"
            f"      <start_frame>0</start_frame>\n      <stop_frame>{max(0, n_frames - 1)}</stop_frame>\n"
            f"      <frame_filter></frame_filter>\n      <labels>{label_xml}\n      </labels>\n"
            f"      <original_size>\n        <width>{width}</width>\n        <height>{height}</height>\n"
            "      </original_size>\n    </task>\n    <dumped>vos-annotator</dumped>\n  </meta>\n"
        )

    def write(self, index: int, rgb: np.ndarray | None, labels: np.ndarray) -> None:
        if rgb is not None and self.needs_images:
            write_bytes(self.images_dir / f"frame_{index:06d}.jpg", jpeg_bytes(rgb, self.jpeg_quality))
        parts = []
        for obj, mask in object_masks(labels, self.objects):
            box = mask_box(mask)
            if box is None:
                continue
            top, left, bottom, right = box  # end exclusive
            runs = rle_encode(mask[top:bottom, left:right])
            geometry = {"rle": ", ".join(map(str, runs)), "left": left, "top": top,
                        "width": right - left, "height": bottom - top, "z_order": 0}  # fmt: skip
            track = {"id": self._next_track, "label": obj.name, "source": "manual", "group_id": obj.id}
            self._next_track += 1
            shapes = [{"frame": index, "keyframe": 1, "outside": 0, "occluded": 0}]
            if index + 1 < self.n_frames - 1:  # CVAT closes a shape unless that hops over the last frame
                shapes.append({"frame": index + 1, "keyframe": 1, "outside": 1, "occluded": 0})
            body = "".join(f"    <mask {_attrs({**shape, **geometry})}>\n    </mask>\n" for shape in shapes)
            parts.append(f"  <track {_attrs(track)}>\n{body}  </track>\n")
        if parts:
            self._file.write("".join(parts))

    def finish(self) -> None:
        self._file.write("</annotations>\n")
        self._file.commit()

    def abort(self) -> None:
        self._file.discard()


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def read_cvat_video(path: str | Path, n_frames: int, hw: tuple[int, int]) -> Imported:
    """Label maps by frame from a CVAT for video XML (``annotations.xml`` or its folder): every
    ``<mask>`` that is not ``outside``; objects by ``group_id`` (else one per track)."""
    path = Path(path)
    if path.is_dir():
        path = path / "annotations.xml"
    result = Imported()
    frames: dict[int, list[tuple[object, np.ndarray]]] = {}
    keys: list[object] = []
    wanted: list[int | None] = []
    names: dict[object, str] = {}
    height, width = hw
    try:
        for _, element in ElementTree.iterparse(path, events=("end",)):
            if element.tag == "original_size":
                size = (int(element.findtext("height", "0")), int(element.findtext("width", "0")))
                if size != (height, width):
                    raise VosInputError(
                        f"{path} is for {size[1]}x{size[0]} frames, the video is {width}x{height}"
                    )
            if element.tag != "track":
                continue
            group = element.get("group_id")
            key: object = ("group", int(group)) if group else ("track", element.get("id"))
            for shape in element.iter("mask"):
                if shape.get("outside", "0") == "1" or shape.get("keyframe", "1") != "1":
                    continue
                frame = int(shape.get("frame", "-1"))
                if not 0 <= frame < n_frames:
                    result.notes.append(f"a mask on frame {frame} skipped: past the video")
                    continue
                left, top = int(shape.get("left", "0")), int(shape.get("top", "0"))
                box_w, box_h = int(shape.get("width", "0")), int(shape.get("height", "0"))
                runs = [int(v) for v in shape.get("rle", "").split(",") if v.strip()]
                crop = rle_decode(runs, box_w, box_h)
                mask = np.zeros(hw, dtype=bool)
                mask[top : top + box_h, left : left + box_w] = crop[: height - top, : width - left]
                if key not in names:
                    keys.append(key)
                    wanted.append(int(group) if group else None)
                    names[key] = element.get("label", "object")
                frames.setdefault(frame, []).append((key, mask))
            element.clear()
    except (OSError, ElementTree.ParseError, ValueError) as error:
        raise VosInputError(f"{path} is not a readable CVAT XML file ({error})") from error
    ids = assign_ids(keys, wanted)
    result.objects = [ExportObject(ids[key], names[key]) for key in keys]
    result.masks, result.notes = compose_frames(frames, ids, hw, result.notes)
    return result
