"""COCO instance segmentation JSON with RLE masks (pycocotools, the reference implementation).

Layout (``OUT`` = output folder, ``NAME`` = video name)::

    OUT/annotations/instances_NAME.json
    OUT/images/NAME/00000.jpg ...          the frames (only with ``images=True``)

One image per frame (``id`` = frame + 1, ``file_name`` = ``NAME/00000.jpg``), one category per
distinct object name (ids from 1 in order of first appearance), one annotation per object present in
a frame: ``segmentation`` is compressed RLE (``{"size": [H, W], "counts": "..."}``), ``area`` and
``bbox`` come from pycocotools (``area``/``toBbox``), ``iscrowd`` is 0 (each is one instance), and
``attributes`` holds ``{"track_id": <object id>, "occluded": false}`` as CVAT's COCO export does, so
an object keeps its identity across frames.

The JSON is written streaming: the image list is known from the frame count and goes out first, then
each frame's annotations as the frame is exported, so memory stays flat however long the video (no
list of annotations is held). The file appears only when complete (atomic rename).

Import (:func:`read_coco`) decodes RLE (compressed or not) and polygon segmentations; frames come
from the number in ``file_name`` (else the image's rank by id); objects from ``attributes.track_id``
(else one per annotation position within its category); overlapping instances go through
:func:`vos_core.formats.base.compose`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from pycocotools import mask as coco_mask

from vos_core.data.masks import mask_file_name
from vos_core.errors import VosInputError
from vos_core.formats.base import (
    AtomicTextFile,
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


class CocoWriter(TargetWriter):
    """Streams one video's COCO JSON; see the module docstring for the layout."""

    needs_images = False

    def __init__(self, target: ExportTarget) -> None:
        super().__init__(target)
        name, hw, n_frames, images = target.name, target.hw, target.n_frames, target.images
        self.path = self.out / "annotations" / f"instances_{name}.json"
        self.image_dir = self.out / "images" / name
        make_dirs(self.path.parent, *([self.image_dir] if images else []))
        self._categories = categories_of(self.objects)
        self._next_id = 1
        self._first = True
        self._file = AtomicTextFile(self.path)
        height, width = hw
        head = {
            "info": {"description": name, "version": "1.0", "contributor": "vos-annotator"},
            "licenses": [],
            "categories": [
                {"id": cid, "name": cname, "supercategory": ""} for cname, cid in self._categories.items()
            ],
        }
        text = json.dumps(head, separators=(",", ":"))[:-1]
        self._file.write(text + ',"images":[')
        for index in range(n_frames):
            image = {"id": index + 1, "file_name": f"{name}/{mask_file_name(index, '.jpg')}",
                     "width": width, "height": height, "frame": index}  # fmt: skip
            self._file.write(("," if index else "") + json.dumps(image, separators=(",", ":")))
        self._file.write('],"annotations":[')

    def write(self, index: int, rgb: np.ndarray | None, labels: np.ndarray) -> None:
        if rgb is not None and self.needs_images:
            write_bytes(self.image_dir / mask_file_name(index, ".jpg"), jpeg_bytes(rgb, self.jpeg_quality))
        fortran = np.asfortranarray(labels)
        pieces = []
        for obj, mask in object_masks(fortran, self.objects):
            rle = coco_mask.encode(mask.view(np.uint8))
            area = int(coco_mask.area(rle))
            bbox = [float(v) for v in coco_mask.toBbox(rle)]
            annotation = {
                "id": self._next_id, "image_id": index + 1, "category_id": self._categories[obj.name],
                "segmentation": {"size": [int(v) for v in rle["size"]],
                                 "counts": rle["counts"].decode("ascii")},
                "area": area, "bbox": bbox, "iscrowd": 0,
                "attributes": {"track_id": obj.id, "occluded": False},
            }  # fmt: skip
            self._next_id += 1
            pieces.append(json.dumps(annotation, separators=(",", ":")))
        if pieces:
            self._file.write(("" if self._first else ",") + ",".join(pieces))
            self._first = False

    def finish(self) -> None:
        self._file.write("]}\n")
        self._file.commit()

    def abort(self) -> None:
        self._file.discard()


# ------------------------------------------------------------------------------------------- import
def _decode(segmentation: object, hw: tuple[int, int]) -> np.ndarray:
    height, width = hw
    if isinstance(segmentation, list):  # polygons
        rles = coco_mask.frPyObjects(segmentation, height, width)
        rle = coco_mask.merge(rles)
    elif isinstance(segmentation, dict) and isinstance(segmentation.get("counts"), list):
        rle = coco_mask.frPyObjects(segmentation, height, width)
    elif isinstance(segmentation, dict):
        counts = segmentation["counts"]
        rle = {
            "size": segmentation["size"],
            "counts": counts.encode("ascii") if isinstance(counts, str) else counts,
        }
    else:
        raise ValueError(f"unknown segmentation {type(segmentation).__name__}")
    return coco_mask.decode(rle).astype(bool)


def read_coco(path: str | Path, n_frames: int, hw: tuple[int, int]) -> Imported:
    """Label maps by frame from a COCO instances JSON (ours or any other); raises
    ``VosInputError`` for an unreadable file or images of another size than ``hw``."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        images = {int(image["id"]): image for image in data["images"]}
        categories = {int(c["id"]): str(c["name"]) for c in data.get("categories", [])}
        annotations = data.get("annotations", [])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise VosInputError(f"{path} is not a COCO instances file ({error})") from error
    by_rank = {image_id: rank for rank, image_id in enumerate(sorted(images))}
    numbers = {image_id: frame_number(str(image.get("file_name", ""))) for image_id, image in images.items()}
    use_numbers = all(number is not None for number in numbers.values()) and len(
        set(numbers.values())
    ) == len(numbers)
    result = Imported()
    frames: dict[int, list[tuple[object, np.ndarray]]] = {}
    keys: list[object] = []
    wanted: list[int | None] = []
    names: dict[object, str] = {}
    seen_in_frame: dict[tuple[int, int], int] = {}
    for annotation in annotations:
        try:
            image = images[int(annotation["image_id"])]
            size = (int(image["height"]), int(image["width"]))
            if size != tuple(hw):
                raise VosInputError(
                    f"{path}: image {image['id']} is {size[1]}x{size[0]}, the video is {hw[1]}x{hw[0]}"
                )
            image_id = int(image["id"])
            frame = numbers[image_id] if use_numbers else by_rank[image_id]
            mask = _decode(annotation["segmentation"], size)
            category = int(annotation.get("category_id", 0))
            track = (annotation.get("attributes") or {}).get("track_id")
        except VosInputError:
            raise
        except (KeyError, ValueError, TypeError) as error:
            result.notes.append(f"annotation {annotation.get('id', '?')} skipped ({error})")
            continue
        if frame is None or not 0 <= frame < n_frames:
            result.notes.append(
                f"annotation {annotation.get('id', '?')} is for frame {frame}, past the video"
            )
            continue
        if track is not None:
            key: object = ("track", int(track))
        else:  # no identity: the k-th instance of a category in a frame is object k of that category
            rank = seen_in_frame.get((frame, category), 0)
            seen_in_frame[(frame, category)] = rank + 1
            key = ("category", category, rank)
        if key not in names:
            keys.append(key)
            wanted.append(int(track) if track is not None else None)
            names[key] = categories.get(category, f"object {len(keys)}")
        frames.setdefault(frame, []).append((key, mask))
    ids = assign_ids(keys, wanted)
    result.objects = [ExportObject(ids[key], names[key]) for key in keys]
    result.masks, result.notes = compose_frames(frames, ids, hw, result.notes)
    return result
