"""Reader for the DAVIS dataset layout (``JPEGImages/480p/<seq>``, ``Annotations/480p/<seq>``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from vos_core.data.frames import FolderSource, natural_sort_key
from vos_core.data.masks import MASK_EXTENSIONS, read_mask
from vos_core.errors import VosInputError

__all__ = ["DEV_SEQUENCES", "DavisDataset", "parse_sequence_arg"]

#: the DAVIS 2016 train sequences held out for model selection (never trained on)
DEV_SEQUENCES = ("bmx-bumps", "car-turn", "dog-agility", "kite-walk", "lucia")


class DavisDataset:
    """A DAVIS-style dataset root; sequences are the sub-folders of ``JPEGImages/480p``."""

    def __init__(self, root: str | Path, resolution: str = "480p") -> None:
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
