"""Ultralytics YOLO-seg: normalised polygons, one text file per frame, a ``data.yaml``.

Layout (``OUT`` = output folder, ``NAME`` = video name)::

    OUT/data.yaml                      train/val image folders, class names (+ our objects)
    OUT/images/train/NAME_00000.jpg    the frames (``images=True``; Ultralytics needs them to train)
    OUT/labels/train/NAME_00000.txt    one line per object present: ``class x1 y1 x2 y2 ...``

A line's coordinates are divided by the frame's width and height (0..1, six decimals). Classes are
the distinct object names (0-based, in order of first appearance); ``data.yaml`` also lists our
objects (``vos_objects``: id, name, class), which Ultralytics ignores, so the importer can give each
line back its object id: within a frame, the objects of one class are written in id order.

Polygons come from OpenCV contours (``findContours``, ``RETR_CCOMP``, ``CHAIN_APPROX_SIMPLE``;
vertices at pixel centres). A YOLO-seg line holds *one* polygon per instance, while a mask can have
several parts and holes. We do what Ultralytics itself does when it converts COCO multi-polygon
instances (``merge_multi_segment`` in its converter): join the pieces into one polygon with
zero-width bridges, walking from each piece to the next at their closest vertices and back along
the same line. Holes are joined to their outer contour the same way, and their vertices run the
other way round, so a scanline fill (Ultralytics rasterises label polygons with ``cv2.fillPoly``,
as our importer does) leaves them empty. The alternative, one line per part, would make every part
a separate instance in training, and dropping holes would label the background inside them. A
bridge to a hole crosses object pixels only; a bridge between parts fills the one-pixel line it
draws across the background, so parts are joined shortest bridge first, and a detached speck smaller
than the bridge that would reach it is left out (fewer pixels lost than the bridge would add). On the
dev masks the round trip keeps IoU ≥ 0.986 per object and frame (tests/core/formats).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from vos_core.data.box import mask_box
from vos_core.errors import VosInputError
from vos_core.formats.base import (
    ExportObject,
    ExportTarget,
    Imported,
    TargetWriter,
    assign_ids,
    categories_of,
    compose_frames,
    frame_number,
    jpeg_bytes,
    make_dirs,
    object_masks,
    write_bytes,
)

SPLIT = "train"


def _nearest(a: np.ndarray, b: np.ndarray) -> tuple[int, int, float]:
    """Indices of the closest pair of vertices between two ``N×2`` / ``M×2`` polygons and their
    distance (chunked so large contours do not build a huge distance matrix at once)."""
    best = (np.inf, 0, 0)
    b = b.astype(np.float64)
    for start in range(0, len(a), 512):
        chunk = a[start : start + 512].astype(np.float64)
        distances = ((chunk[:, None, :] - b[None, :, :]) ** 2).sum(-1)
        i, j = divmod(int(np.argmin(distances)), distances.shape[1])
        if distances[i, j] < best[0]:
            best = (float(distances[i, j]), start + i, j)
    return best[1], best[2], float(np.sqrt(best[0]))


def _bridge(base: np.ndarray, piece: np.ndarray, joint: tuple[int, int] | None = None) -> np.ndarray:
    """``base`` with ``piece`` spliced in at their closest vertices: base up to the joint, the whole
    piece from its joint round to itself, then back to the base's joint (a zero-width bridge)."""
    i, j = joint if joint is not None else _nearest(base, piece)[:2]
    rolled = np.roll(piece, -j, axis=0)
    return np.concatenate([base[: i + 1], rolled, rolled[:1], base[i:]])


def _pixels(contour: np.ndarray) -> float:
    """About how many pixels an outer contour encloses (vertices at pixel centres)."""
    return float(cv2.contourArea(contour) + cv2.arcLength(contour, True) / 2 + 1)


def mask_polygon(mask: np.ndarray) -> np.ndarray | None:
    """One ``N×2`` int polygon (x, y pixel centres) for a bool mask: every part and hole joined by
    zero-width bridges (see the module docstring); None for an empty mask.

    The largest part comes first; each further part is joined where it is closest to the polygon
    so far (the shortest bridges first). A bridge over background fills the pixels it crosses, so
    a detached part smaller than the bridge that would reach it (a speck far away) is left out:
    that loses fewer pixels than the bridge would add."""
    box = mask_box(mask)
    if box is None:
        return None
    top, left, bottom, right = box  # contours of the object's box only: the same, faster
    crop = np.ascontiguousarray(mask[top:bottom, left:right], dtype=np.uint8)
    contours, hierarchy = cv2.findContours(crop, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    offset = np.array([left, top])
    links = hierarchy[0]
    parts: list[tuple[float, np.ndarray]] = []
    for index, contour in enumerate(contours):
        if links[index][3] != -1:
            continue  # a hole: joined to its outer contour below (the bridge crosses object pixels)
        polygon = contour.reshape(-1, 2) + offset
        child = links[index][2]
        while child != -1:
            polygon = _bridge(polygon, contours[child].reshape(-1, 2) + offset)
            child = links[child][0]
        parts.append((_pixels(contour), polygon))
    parts.sort(key=lambda part: -part[0])
    joined = parts[0][1]
    remaining = parts[1:]
    while remaining:
        joints = [_nearest(joined, polygon) for _, polygon in remaining]
        pick = min(range(len(remaining)), key=lambda k: joints[k][2])
        size, polygon = remaining.pop(pick)
        i, j, distance = joints[pick]
        if size >= distance:
            joined = _bridge(joined, polygon, (i, j))
    return joined


def polygon_mask(points: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """The bool mask of a polygon (``N×2`` x, y in pixels), filled the way Ultralytics does."""
    mask = np.zeros(hw, dtype=np.uint8)
    cv2.fillPoly(mask, [np.round(points).astype(np.int32).reshape(-1, 1, 2)], 1)
    return mask.astype(bool)


def _yaml_text(name: str, classes: dict[str, int], objects: Sequence[ExportObject]) -> str:
    """data.yaml (plain YAML, written by hand: no YAML library needed). Names are JSON-quoted,
    which YAML reads as double-quoted strings."""
    import json

    # no "path:": Ultralytics then takes the folder of data.yaml as the root (a relative "path: ."
    # would be resolved against the working directory of the training run)
    lines = ["# Ultralytics YOLO-seg dataset written by vos-annotator",
             f"train: images/{SPLIT}", f"val: images/{SPLIT}", f"nc: {len(classes)}", "names:"]  # fmt: skip
    lines += [f"  {index - 1}: {json.dumps(cname)}" for cname, index in classes.items()]
    lines.append(f"video: {json.dumps(name)}")
    lines.append("vos_objects:")
    lines += [
        f"  - {{id: {obj.id}, name: {json.dumps(obj.name)}, class: {classes[obj.name] - 1}}}"
        for obj in objects
    ]
    return "\n".join(lines) + "\n"


class YoloSegWriter(TargetWriter):
    """Writes one video as a YOLO-seg dataset; see the module docstring."""

    def __init__(self, target: ExportTarget) -> None:
        super().__init__(target)
        self.objects.sort(key=lambda obj: obj.id)
        self.classes = categories_of(self.objects)
        self.labels_dir = self.out / "labels" / SPLIT
        self.images_dir = self.out / "images" / SPLIT
        make_dirs(self.labels_dir, self.images_dir)

    def stem(self, index: int) -> str:
        return f"{self.name}_{index:05d}"

    def write(self, index: int, rgb: np.ndarray | None, labels: np.ndarray) -> None:
        if rgb is not None and self.needs_images:
            write_bytes(self.images_dir / f"{self.stem(index)}.jpg", jpeg_bytes(rgb, self.jpeg_quality))
        height, width = self.hw
        scale = np.array([1.0 / width, 1.0 / height])
        lines = []
        for obj, mask in object_masks(labels, self.objects):
            polygon = mask_polygon(mask)
            if polygon is None:
                continue
            if len(polygon) < 3:  # a one- or two-pixel object: its pixel square
                x0, y0 = polygon.min(axis=0) - 0.5
                x1, y1 = polygon.max(axis=0) + 0.5
                polygon = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
            coords = " ".join(f"{v:.6f}" for v in (polygon * scale).ravel())
            lines.append(f"{self.classes[obj.name] - 1} {coords}")
        write_bytes(
            self.labels_dir / f"{self.stem(index)}.txt", "".join(line + "\n" for line in lines).encode()
        )

    def finish(self) -> None:
        write_bytes(self.out / "data.yaml", _yaml_text(self.name, self.classes, self.objects).encode("utf-8"))

    def abort(self) -> None:
        """Per-frame files are each complete; without ``data.yaml`` the folder is no dataset yet."""


# ------------------------------------------------------------------------------------------- import
def _read_yaml(path: Path) -> tuple[dict[int, str], list[tuple[int, str, int]]]:
    """Class names and our objects from a data.yaml (the subset of YAML that datasets use:
    ``names:`` as a mapping or a one-line list; ``vos_objects`` as we write it)."""
    import json
    import re

    names: dict[int, str] = {}
    objects: list[tuple[int, str, int]] = []
    if not path.is_file():
        return names, objects
    section = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not raw.startswith(" "):
            key, _, value = line.partition(":")
            section = key.strip()
            if section == "names" and value.strip().startswith("["):
                items = value.strip()[1:-1].split(",")
                names = {i: item.strip().strip("'\"") for i, item in enumerate(items) if item.strip()}
            continue
        if section == "names":
            key, _, value = line.strip().partition(":")
            value = value.strip()
            names[int(key)] = json.loads(value) if value.startswith('"') else value.strip("'")
        elif section == "vos_objects":
            found = re.match(r'\s*-\s*\{id:\s*(\d+),\s*name:\s*(".*"),\s*class:\s*(\d+)\}', line)
            if found:
                objects.append((int(found[1]), json.loads(found[2]), int(found[3])))
    return names, objects


def read_yolo_seg(folder: str | Path, n_frames: int, hw: tuple[int, int]) -> Imported:
    """Label maps by frame from a YOLO-seg folder (``data.yaml`` + ``labels/``, or a bare folder of
    ``.txt`` files); the frame is the last number of each file name. Polygons are filled as
    Ultralytics fills them; overlaps go through :func:`vos_core.formats.base.compose`."""
    root = Path(folder)
    if not root.is_dir():
        raise VosInputError(f"{root} is not a folder")
    names, ours = _read_yaml(root / "data.yaml")
    label_files = (
        sorted((root / "labels").rglob("*.txt")) if (root / "labels").is_dir() else sorted(root.glob("*.txt"))
    )
    if not label_files:
        raise VosInputError(f"no YOLO label files (.txt) in {root}")
    by_class: dict[int, list[tuple[int, str]]] = {}
    for object_id, name, cls in sorted(ours):
        by_class.setdefault(cls, []).append((object_id, name))
    result = Imported()
    frames: dict[int, list[tuple[object, np.ndarray]]] = {}
    keys: list[object] = []
    wanted: list[int | None] = []
    key_names: dict[object, str] = {}
    height, width = hw
    for path in label_files:
        frame = frame_number(path.name)
        if frame is None or not 0 <= frame < n_frames:
            result.notes.append(f"{path.name} skipped: no frame {frame} in the video")
            continue
        rank: dict[int, int] = {}
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            values = line.split()
            if not values:
                continue
            try:
                cls = int(values[0])
                coords = np.array([float(v) for v in values[1:]], dtype=np.float64).reshape(-1, 2)
            except ValueError:
                result.notes.append(f"{path.name} line {number} skipped: not 'class x y x y ...'")
                continue
            if len(coords) < 3:
                result.notes.append(f"{path.name} line {number} skipped: fewer than 3 points")
                continue
            k = rank.get(cls, 0)
            rank[cls] = k + 1
            known = by_class.get(cls, [])
            key: object = ("object", known[k][0]) if k < len(known) else ("class", cls, k)
            if key not in key_names:
                keys.append(key)
                wanted.append(known[k][0] if k < len(known) else None)
                key_names[key] = known[k][1] if k < len(known) else names.get(cls, f"class {cls}")
            mask = polygon_mask(coords * np.array([width, height]), hw)
            frames.setdefault(frame, []).append((key, mask))
    ids = assign_ids(keys, wanted)
    result.objects = [ExportObject(ids[key], key_names[key]) for key in keys]
    result.masks, result.notes = compose_frames(frames, ids, hw, result.notes)
    return result
