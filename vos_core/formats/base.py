"""What every format shares: the objects of an export, the one frame loop, atomic single-file output,
per-object masks of a label map and the deterministic composition of (possibly overlapping) imported
instances into a label map.

A label map is ``H×W`` uint8, pixel = object id (0 = background): objects never overlap there, so an
export never has to drop one. Imported instances may overlap; :func:`compose` resolves that the same
way every time and says how many pixels were contested.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

import numpy as np
from PIL import Image

from vos_core.data.atomic import atomic_path, atomic_write_bytes
from vos_core.errors import VosInputError

Progress = Callable[[int, int], None]  # (done, total)
CheckCancelled = Callable[[], None]  # raises to stop between frames


@dataclass(frozen=True)
class ExportObject:
    """One object of an export: its label value in the label maps (1..255) and its name."""

    id: int
    name: str


@dataclass(frozen=True)
class ExportTarget:
    """What every format's writer is given: the output folder, the sequence name (safe for file
    names), the objects, the frame size ``(H, W)`` and count, whether to write the frames too and
    their JPEG quality."""

    out: Path
    name: str
    objects: tuple[ExportObject, ...]
    hw: tuple[int, int]
    n_frames: int
    images: bool
    jpeg_quality: int = 90


class TargetWriter:
    """The part every format's writer shares: the fields of its :class:`ExportTarget`."""

    def __init__(self, target: ExportTarget) -> None:
        self.target = target
        self.out = Path(target.out)
        self.name = target.name
        self.objects = list(target.objects)
        self.hw = target.hw
        self.n_frames = target.n_frames
        self.needs_images = target.images
        self.jpeg_quality = target.jpeg_quality


class FrameWriter(Protocol):
    """A format's writer. ``needs_images``: whether :meth:`write` wants the frame's pixels."""

    needs_images: bool

    def write(self, index: int, rgb: np.ndarray | None, labels: np.ndarray) -> None:
        """Frame ``index``: its ``H×W×3`` RGB (None unless ``needs_images``) and ``H×W`` labels."""

    def finish(self) -> None:
        """Every frame was written: complete the output (single files appear only now)."""

    def abort(self) -> None:
        """The export failed or was cancelled: remove what would be a partial file."""


def export_frames(
    writer: FrameWriter,
    n_frames: int,
    labels_of: Callable[[int], np.ndarray],
    rgb_of: Callable[[int], np.ndarray] | None = None,
    progress: Progress | None = None,
    check_cancelled: CheckCancelled | None = None,
) -> None:
    """The one export loop: frame by frame, ``labels_of(i)`` (and ``rgb_of(i)`` when the writer
    needs images) into ``writer``; ``progress(i + 1, n_frames)`` after each, ``check_cancelled()``
    before each. Any exception (cancelling included) aborts the writer and propagates."""
    try:
        for index in range(n_frames):
            if check_cancelled is not None:
                check_cancelled()
            rgb = rgb_of(index) if writer.needs_images and rgb_of is not None else None
            writer.write(index, rgb, labels_of(index))
            if progress is not None:
                progress(index + 1, n_frames)
        writer.finish()
    except BaseException:
        writer.abort()
        raise


class AtomicTextFile:
    """A text file written in pieces that appears at ``path`` only on :meth:`commit` (atomically,
    :func:`vos_core.data.atomic.atomic_path`); :meth:`discard` removes the partial file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._stack = contextlib.ExitStack()
        tmp = self._stack.enter_context(atomic_path(self.path))
        self.handle: IO[str] = self._stack.enter_context(open(tmp, "w", encoding="utf-8", newline="\n"))

    def write(self, text: str) -> None:
        self.handle.write(text)

    def commit(self) -> None:
        self.handle.flush()
        self._stack.close()  # closes the file, then renames it into place

    def discard(self) -> None:
        error = RuntimeError("discarded")
        self._stack.__exit__(type(error), error, None)


def object_masks(
    labels: np.ndarray, objects: Sequence[ExportObject]
) -> Iterator[tuple[ExportObject, np.ndarray]]:
    """``(object, H×W bool mask)`` for each of ``objects`` present in ``labels``; the masks keep the
    memory order of ``labels`` (pass a Fortran-ordered map to get Fortran-ordered masks)."""
    for obj in objects:  # a comparison per object is faster than np.unique (a sort) per frame
        mask = labels == obj.id
        if mask.any():
            yield obj, mask


def frame_number(name: str) -> int | None:
    """The frame a file name stands for: its last number (``00012.jpg``, ``frame_000012.png``)."""
    numbers = re.findall(r"\d+", Path(name).stem)
    return int(numbers[-1]) if numbers else None


def jpeg_bytes(rgb: np.ndarray, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=int(quality))
    return buffer.getvalue()


def make_dirs(*folders: Path) -> None:
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise VosInputError(f"Cannot create {folder}: {error.strerror or error}") from error


def write_bytes(path: Path, data: bytes) -> None:
    atomic_write_bytes(path, data)


# ------------------------------------------------------------------------------------------- import
@dataclass
class Imported:
    """What an import read: label maps by frame (``H×W`` uint8), the objects they use, and what
    the reader had to decide (overlaps resolved, instances skipped) in ``notes``."""

    masks: dict[int, np.ndarray] = field(default_factory=dict)
    objects: list[ExportObject] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def compose(hw: tuple[int, int], instances: Iterable[tuple[int, np.ndarray]]) -> tuple[np.ndarray, int]:
    """One label map from ``(object id, H×W bool mask)`` instances, and the number of pixels that
    more than one instance claimed. Overlaps are resolved deterministically: the smaller instance
    (fewer pixels) is drawn on top, ties by the lower id, so a small object in front of a large one
    keeps its pixels and no instance is lost to a larger one."""
    items = [(int(object_id), np.asarray(mask, dtype=bool)) for object_id, mask in instances]
    labels = np.zeros(hw, dtype=np.uint8)
    if not items:
        return labels, 0
    count = np.zeros(hw, dtype=np.uint8)
    for _, mask in items:
        count += mask
    contested = int(np.count_nonzero(count > 1))
    order = sorted(items, key=lambda item: (-int(item[1].sum()), -item[0]))  # largest first
    for object_id, mask in order:
        labels[mask] = object_id
    return labels, contested


def assign_ids(keys: Sequence[object], wanted: Sequence[int | None]) -> dict[object, int]:
    """Label values 1..255 for import keys: a wanted id is kept when valid and not yet taken, the
    others get the lowest free values. Raises ``VosInputError`` past 255 objects."""
    taken: dict[object, int] = {}
    used: set[int] = set()
    for key, want in zip(keys, wanted, strict=True):
        if want is not None and 1 <= want <= 255 and want not in used:
            taken[key] = want
            used.add(want)
    free = (value for value in range(1, 256) if value not in used)
    for key in keys:
        if key not in taken:
            value = next(free, None)
            if value is None:
                raise VosInputError(f"more than 255 objects to import ({len(keys)}); a label map holds 255")
            taken[key] = value
            used.add(value)
    return taken


def categories_of(objects: Sequence[ExportObject]) -> dict[str, int]:
    """Category id (from 1) per distinct object name, in order of first appearance."""
    ids: dict[str, int] = {}
    for obj in objects:
        ids.setdefault(obj.name, len(ids) + 1)
    return ids


def compose_frames(
    frames: dict[int, list[tuple[object, np.ndarray]]],
    ids: dict[object, int],
    hw: tuple[int, int],
    notes: list[str],
) -> tuple[dict[int, np.ndarray], list[str]]:
    """Label maps from each frame's instances (:func:`compose`), noting contested pixels and any
    instance that ended up hidden."""
    masks: dict[int, np.ndarray] = {}
    contested_frames = 0
    contested_pixels = 0
    for frame in sorted(frames):
        instances = [(ids[key], mask) for key, mask in frames[frame]]
        labels, contested = compose(hw, instances)
        if contested:
            contested_frames += 1
            contested_pixels += contested
            present = set(np.unique(labels).tolist())
            for object_id, mask in instances:
                if mask.any() and object_id not in present:
                    notes.append(f"frame {frame}: object {object_id} lies wholly under smaller objects")
        masks[frame] = labels
    if contested_frames:
        notes.append(
            f"{contested_pixels} pixels in {contested_frames} frames belonged to several objects: "
            f"each went to the smallest of them"
        )
    return masks, notes
