"""The DAVIS format: the dataset layout, read (:class:`DavisDataset`, :func:`find_annotation_folder`)
and written (:class:`DavisWriter`), and the dev split held out of training.

Layout (``ROOT`` = dataset root, ``NAME`` = sequence name)::

    ROOT/JPEGImages/480p/NAME/00000.jpg                  the frames
    ROOT/Annotations/480p/NAME/00000.png                 palette label maps (pixel = object id)
    ROOT/ImageSets/480p/val.txt, ImageSets/2017/val.txt  sequence names, one per line

File names are :func:`vos_core.data.masks.mask_file_name`.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
from PIL import Image

from vos_core.data.atomic import atomic_write_bytes
from vos_core.data.frames import FolderSource, natural_sort_key
from vos_core.data.masks import MASK_EXTENSIONS, mask_file_name, masks_from_folder, read_mask, write_mask
from vos_core.errors import VosInputError

__all__ = [
    "DEV_SEQUENCES", "RESOLUTION", "DavisDataset", "DavisWriter", "find_annotation_folder",
    "parse_sequence_arg", "read_annotations", "safe_name",
]

#: the resolution folder this project reads first and writes
RESOLUTION = "480p"

#: the DAVIS 2016 train sequences held out for model selection (never trained on)
DEV_SEQUENCES = ("bmx-bumps", "car-turn", "dog-agility", "kite-walk", "lucia")


class DavisDataset:
    """A DAVIS-style dataset root; sequences are the sub-folders of ``JPEGImages/480p``."""

    def __init__(self, root: str | Path, resolution: str = RESOLUTION) -> None:
        self.root = Path(root)
        self.image_root = self.root / "JPEGImages" / resolution
        self.annotation_root = self.root / "Annotations" / resolution
        for folder in (self.image_root, self.annotation_root):
            if not folder.is_dir():
                raise VosInputError(
                    f"{self.root} is not a DAVIS dataset: missing folder {folder}"
                )

    def sequences(self) -> list[str]:
        """Sorted names of the sequences (non-hidden folders of ``JPEGImages/<resolution>``)."""
        return sorted(
            entry.name
            for entry in self.image_root.iterdir()
            if entry.is_dir() and not entry.name.startswith(".")
        )

    def _check(self, seq: str) -> None:
        if not seq or "/" in seq or "\\" in seq or not (self.image_root / seq).is_dir():
            raise VosInputError(f"Unknown sequence {seq!r} in {self.root}")

    def frames(self, seq: str) -> FolderSource:
        """The sequence's frames (``H×W×3`` RGB)."""
        self._check(seq)
        return FolderSource(self.image_root / seq)

    def annotation_paths(self, seq: str) -> list[Path]:
        """The sequence's annotation files, naturally sorted (may be only the first frame's)."""
        self._check(seq)
        folder = self.annotation_root / seq
        if not folder.is_dir():
            raise VosInputError(f"No annotations for sequence {seq!r}: missing folder {folder}")
        paths = [
            entry
            for entry in folder.iterdir()
            if entry.suffix.lower() in MASK_EXTENSIONS and not entry.name.startswith(".")
        ]
        if not paths:
            raise VosInputError(f"No annotation masks in {folder}")
        return sorted(paths, key=lambda entry: natural_sort_key(entry.name))

    def first_mask(self, seq: str) -> np.ndarray:
        """The first annotation as an ``H×W`` uint8 label map, checked against the frame size."""
        paths = self.annotation_paths(seq)
        with self.frames(seq) as frames:
            size = frames.size
        return read_mask(paths[0], expected_hw=size)

    def masks(self, seq: str) -> Iterator[np.ndarray]:
        """All annotations, in order, as ``H×W`` uint8 label maps (read lazily)."""
        paths = self.annotation_paths(seq)
        with self.frames(seq) as frames:
            size = frames.size
        for path in paths:
            yield read_mask(path, expected_hw=size)

    def __repr__(self) -> str:
        return f"DavisDataset({str(self.root)!r})"


def _names_from_file(path: Path) -> list[str]:
    """One sequence per line; blank lines and ``#`` comments are skipped. DAVIS 2016 ImageSets
    lines (``/JPEGImages/480p/<seq>/00000.jpg /Annotations/...``) are also understood."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise VosInputError(f"Cannot read sequence list {path}: {error}") from error
    names: list[str] = []
    for line in text.splitlines():
        token = line.split("#", 1)[0].strip().split()
        if not token:
            continue
        parts = [part for part in token[0].split("/") if part]
        names.append(parts[-2] if len(parts) >= 3 else token[0])
    return names


def parse_sequence_arg(arg: str, dataset: DavisDataset) -> list[str]:
    """Sequence names from ``"a,b,c"`` or from a text file with one name per line.

    Duplicates are dropped (first occurrence kept). Raises ``VosInputError`` listing any names the
    dataset does not contain, or if the selection is empty.
    """
    candidate = Path(arg)
    if candidate.is_file():
        names = _names_from_file(candidate)
        origin = f" in {candidate}"
    else:
        names = [name.strip() for name in arg.split(",") if name.strip()]
        origin = ""
    unique = list(dict.fromkeys(names))
    if not unique:
        raise VosInputError(f"No sequence names given{origin or f' in {arg!r}'}")
    known = set(dataset.sequences())
    unknown = [name for name in unique if name not in known]
    if unknown:
        raise VosInputError(
            f"Unknown sequence(s){origin}: {', '.join(unknown)} (not in {dataset.root})"
        )
    return unique


# ----------------------------------------------------------------------------------------- writing
def safe_name(name: str) -> str:
    """A file-system friendly version of a sequence or object name."""
    cleaned = re.sub(r"[^\w\-. ]+", "_", name, flags=re.UNICODE).strip(" .")
    return cleaned.replace(" ", "_") or "unnamed"


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


class DavisWriter:
    """Writes one sequence in the DAVIS layout under ``root``, frame by frame, every file
    atomically; :meth:`finish` adds the sequence to both ``ImageSets`` lists.

    objects: object id -> folder name under ``root/objects/`` for per-object binary masks (0/255
    PNGs; empty: none). Folders that cannot be created raise :class:`VosInputError`.
    """

    def __init__(
        self, root: str | Path, name: str, objects: Mapping[int, str] | None = None, jpeg_quality: int = 90
    ) -> None:
        self.root = Path(root)
        self.name = safe_name(name)
        self.jpeg_quality = jpeg_quality
        self.images = self.root / "JPEGImages" / RESOLUTION / self.name
        self.annotations = self.root / "Annotations" / RESOLUTION / self.name
        self.objects = {oid: self.root / "objects" / folder for oid, folder in (objects or {}).items()}
        lists = [self.root / "ImageSets" / folder for folder in (RESOLUTION, "2017")]
        for folder in (self.images, self.annotations, *lists, *self.objects.values()):
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise VosInputError(f"Cannot create {folder}: {error.strerror or error}") from error

    def write(self, index: int, rgb: np.ndarray, labels: np.ndarray) -> None:
        """Frame ``index``: H×W×3 RGB (JPEG) and its H×W label map (palette PNG, per-object masks)."""
        atomic_write_bytes(self.images / mask_file_name(index, ".jpg"), _jpeg_bytes(rgb, self.jpeg_quality))
        write_mask(self.annotations / mask_file_name(index), labels)
        for object_id, folder in self.objects.items():
            atomic_write_bytes(folder / mask_file_name(index), _binary_png(labels == object_id))

    def finish(self) -> None:
        for folder in (RESOLUTION, "2017"):
            _add_to_list(self.root / "ImageSets" / folder / "val.txt", self.name)


# ----------------------------------------------------------------------------------------- reading
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


def read_annotations(
    folder: str | Path, n_frames: int, hw: tuple[int, int], name: str | None = None
) -> dict[int, np.ndarray]:
    """Label maps by frame from a folder of ``%05d.png`` palette masks (or a DAVIS root).
    Raises ``VosInputError`` for a missing folder, a frame past the end or a size mismatch."""
    return masks_from_folder(find_annotation_folder(folder, name), n_frames, hw)
