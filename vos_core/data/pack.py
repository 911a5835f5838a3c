"""Training pack: DAVIS clips and static images decoded once, resized to the training scale and stored
as memory-mappable uint8 arrays, so that training data can travel to a machine without ``../shared``.

A pack is a folder:

- ``manifest.json``: format and version, the training scale, what went in, what the size budget
  dropped or downscaled (and why), the sources and their licences, the groups (DAVIS sequences,
  static sets) with their item ranges;
- ``rgb.npy``: P×3 uint8, the pixels of every item, row-major, item after item;
- ``labels.npy``: P uint8, each pixel's label as in the source (0 = background, 1..N objects);
- ``items.npy``: N×10 int64, one row per item (columns ``ITEM_COLUMNS``): pixel offset into
  ``rgb``/``labels``, height, width, kind (0 = DAVIS frame, 1 = static image), group, index in the
  source (frame number or image number), bounding box of the labels > 0 (y0, y1, x0, x1; -1 when empty).

Items of one DAVIS sequence are consecutive and in frame order. ``DataPack`` opens a pack read-only
with the pixel arrays memory-mapped. ``write_pack`` makes one (``python -m vos_core.datapack``).
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from vos_core.data.box import mask_box
from vos_core.data.davis import DEV_SEQUENCES
from vos_core.data.masks import read_mask
from vos_core.errors import VosInputError

FORMAT, VERSION = "vos-training-pack", 1
ITEM_COLUMNS = ("offset", "height", "width", "kind", "group", "source_index", "y0", "y1", "x0", "x1")
DAVIS, STATIC = 0, 1
#: the largest frame the clip makers use is about 1.25x (DAVIS) / 1.3x (static) the crop
DAVIS_ZOOM, STATIC_ZOOM = 1.25, 1.3
#: what the budget tries, in order, before it drops sequences: (extra scale factor, DAVIS frame stride,
#: 1 static image in n kept). Static images (about 12,900) are thinned before DAVIS frames (25 training
#: sequences, the scarce kind) lose their frame rate.
LADDER = ((1.0, 1, 1), (0.85, 1, 1), (0.7, 1, 1), (0.6, 1, 1), (0.5, 1, 1), (0.5, 1, 2), (0.5, 1, 4),
          (0.5, 2, 4), (0.5, 3, 4))
LICENCES = {
    "davis2016-train": "DAVIS 2016 (Perazzi et al., CVPR 2016), CC BY 4.0",
    "ecssd": "ECSSD (Shi, Yan, Xu, Jia), research use",
    "pascal_s": "PASCAL-S (Li et al., CVPR 2014), research use",
    "weizmann_horse": "Weizmann Horse (Borenstein and Ullman), research use",
    "duts_tr": "DUTS-TR (Wang et al., CVPR 2017), research use",
    "pennfudan": "Penn-Fudan pedestrians (Wang, Shi, Song, Shen, ACCV 2007), research use",
}
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
_OVERHEAD = 8192  # manifest and .npy headers (plus 300 bytes per group), counted against the budget


@dataclass(frozen=True)
class _Entry:
    """One image to pack: its files, group and native size (H, W)."""

    kind: int
    group: int
    index: int
    image: Path
    mask: Path
    hw: tuple[int, int]


@dataclass
class PackPlan:
    """What goes into the pack: the entries kept, their stored sizes and the choices made."""

    factor: float
    stride: int
    keep_every: int
    entries: list[_Entry]
    sizes: list[tuple[int, int]]
    groups: list[tuple[int, str]] = field(default_factory=list)
    static_every: int = 1

    @property
    def nbytes(self) -> int:
        items = sum(4 * h * w + 8 * len(ITEM_COLUMNS) for h, w in self.sizes)
        return items + _OVERHEAD + 300 * len(self.groups)


def _native_hw(path: Path) -> tuple[int, int]:
    try:
        with Image.open(path) as image:
            w, h = image.size
    except OSError as exc:
        raise VosInputError(f"cannot read image {path}: {exc}") from exc
    return h, w


def _inventory(davis: Path | None, static: Path | None, sets: Sequence[str] | None,
               exclude: Sequence[str]) -> tuple[list[_Entry], list[tuple[int, str]]]:
    """Every usable image of the sources, in a fixed order; groups are (kind, name)."""
    entries: list[_Entry] = []
    groups: list[tuple[int, str]] = []
    if davis is not None:
        images, annotations = davis / "JPEGImages" / "480p", davis / "Annotations" / "480p"
        if not images.is_dir() or not annotations.is_dir():
            raise VosInputError(f"{davis} is not a DAVIS dataset (JPEGImages/480p, Annotations/480p)")
        listing = davis / "ImageSets" / "train.txt"
        names = ([n.strip() for n in listing.read_text().splitlines() if n.strip()] if listing.is_file()
                 else sorted(p.name for p in images.iterdir() if p.is_dir()))
        for name in (n for n in names if n not in set(exclude)):
            jpgs = sorted((images / name).glob("*.jpg"))
            pngs = [annotations / name / (p.stem + ".png") for p in jpgs]
            if not jpgs or not all(p.is_file() for p in pngs):
                continue
            hw = _native_hw(jpgs[0])  # DAVIS frames of a sequence share their size
            groups.append((DAVIS, name))
            entries += [_Entry(DAVIS, len(groups) - 1, i, j, m, hw)
                        for i, (j, m) in enumerate(zip(jpgs, pngs, strict=True))]
    if static is not None:
        if not static.is_dir():
            raise VosInputError(f"static image root {static} not found")
        found = sorted(p.name for p in static.iterdir() if (p / "images").is_dir() and (p / "masks").is_dir())
        for name in sets if sets is not None else found:
            if name not in found:
                raise VosInputError(f"static set {name} not found under {static} (need images/ and masks/)")
            pairs = [(p, static / name / "masks" / (p.stem + ".png"))
                     for p in sorted((static / name / "images").iterdir())
                     if p.suffix.lower() in IMAGE_EXTENSIONS]
            pairs = [(img, mask) for img, mask in pairs if mask.is_file()]
            if pairs:
                groups.append((STATIC, name))
                entries += [_Entry(STATIC, len(groups) - 1, i, img, mask, _native_hw(img))
                            for i, (img, mask) in enumerate(pairs)]
    if not entries:
        raise VosInputError("nothing to pack: no DAVIS sequences and no static images found")
    return entries, groups


def stored_size(entry_hw: tuple[int, int], kind: int, crop: int, factor: float) -> tuple[int, int]:
    """(H, W) an item is stored at: DAVIS frames at most ``1.25·crop`` rows, static images at most
    ``1.3·crop`` on their short side (never enlarged), times ``factor`` (<= 1)."""
    h, w = entry_hw
    cap = math.ceil(DAVIS_ZOOM * crop) / h if kind == DAVIS else math.ceil(STATIC_ZOOM * crop) / min(h, w)
    s = min(1.0, cap) * factor
    return max(1, round(h * s)), max(1, round(w * s))


def _select(entries: list[_Entry], stride: int, keep_every: int, static_every: int = 1) -> list[_Entry]:
    """Every ``stride``-th frame of each kept sequence; every ``keep_every``-th sequence and every
    ``keep_every · static_every``-th image of each static set (always the first ones)."""
    davis_groups = sorted({e.group for e in entries if e.kind == DAVIS})
    kept_groups = set(davis_groups[::keep_every])
    return [e for e in entries
            if (e.kind == DAVIS and e.group in kept_groups and e.index % stride == 0)
            or (e.kind == STATIC and e.index % (keep_every * static_every) == 0)]


def plan_pack(entries: list[_Entry], groups: list[tuple[int, str]], max_bytes: int, crop: int,
              scale: float = 1.0) -> PackPlan:
    """The first step of ``LADDER`` that fits ``max_bytes``; past the ladder, keep every m-th
    sequence and static image of those kept (m = 2, 3, ...) at the ladder's last step."""
    def make(factor: float, stride: int, keep_every: int, static_every: int) -> PackPlan:
        chosen = _select(entries, stride, keep_every, static_every)
        sizes = [stored_size(e.hw, e.kind, crop, factor * scale) for e in chosen]
        return PackPlan(factor, stride, keep_every, chosen, sizes, groups, static_every)

    for factor, stride, static_every in LADDER:
        plan = make(factor, stride, 1, static_every)
        if plan.nbytes <= max_bytes:
            return plan
    factor, stride, static_every = LADDER[-1]
    largest = max(sum(1 for e in entries if e.kind == STATIC and e.group == g) for g in range(len(groups)))
    largest = max(largest, len(groups))
    for keep_every in range(2, largest + 1):
        plan = make(factor, stride, keep_every, static_every)
        if plan.nbytes <= max_bytes:
            return plan
    raise VosInputError(f"the size budget of {max_bytes / 2**20:.2f} MB is too small: the smallest pack "
                        f"this can make needs {plan.nbytes / 2**20:.2f} MB")


def _decode(entry: _Entry, hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    img = cv2.imread(str(entry.image), cv2.IMREAD_COLOR)
    if img is None:
        raise VosInputError(f"cannot read image {entry.image}")
    img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    labels = read_mask(entry.mask)
    if entry.kind == DAVIS:
        labels = (labels > 0).astype(np.uint8)
    if labels.shape != img.shape[:2]:
        labels = cv2.resize(labels, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_NEAREST)
    if img.shape[:2] != hw:
        img = cv2.resize(img, (hw[1], hw[0]), interpolation=cv2.INTER_AREA)
        labels = cv2.resize(labels, (hw[1], hw[0]), interpolation=cv2.INTER_NEAREST)
    return img, labels


def _bbox(labels: np.ndarray) -> tuple[int, int, int, int]:
    """The pack's record of the labelled pixels' box: (y0, y1, x0, x1), all -1 when empty."""
    box = mask_box(labels)
    if box is None:
        return -1, -1, -1, -1
    y0, x0, y1, x1 = box
    return y0, y1, x0, x1


def write_pack(out: Path, max_mb: float, davis: Path | None = None, static: Path | None = None,
               crop: int = 384, scale: float = 1.0, sets: Sequence[str] | None = None,
               exclude: Sequence[str] = DEV_SEQUENCES,
               progress: Callable[[int, int], None] | None = None) -> dict[str, object]:
    """Make a pack in ``out`` (which must not exist or be empty) and return its manifest."""
    if not 0 < scale <= 1:
        raise VosInputError(f"--scale must be in (0, 1], got {scale}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise VosInputError(f"{out} exists and is not an empty folder")
    entries, groups = _inventory(davis, static, sets, exclude)
    plan = plan_pack(entries, groups, int(max_mb * 2**20), crop, scale)
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    pixels = sum(h * w for h, w in plan.sizes)
    rgb = np.lib.format.open_memmap(tmp / "rgb.npy", "w+", np.uint8, (pixels, 3))
    labels = np.lib.format.open_memmap(tmp / "labels.npy", "w+", np.uint8, (pixels,))
    items = np.zeros((len(plan.entries), len(ITEM_COLUMNS)), np.int64)
    offset = 0
    for n, (entry, hw) in enumerate(zip(plan.entries, plan.sizes, strict=True)):
        img, lab = _decode(entry, hw)
        size = hw[0] * hw[1]
        rgb[offset : offset + size] = img.reshape(-1, 3)
        labels[offset : offset + size] = lab.reshape(-1)
        items[n] = (offset, hw[0], hw[1], entry.kind, entry.group, entry.index, *_bbox(lab))
        offset += size
        if progress is not None:
            progress(n + 1, len(plan.entries))
    rgb.flush()
    labels.flush()
    del rgb, labels
    np.save(tmp / "items.npy", items)
    manifest = _manifest(plan, entries, items, crop, scale, max_mb, davis, static)
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    if out.exists():
        out.rmdir()
    os.replace(tmp, out)
    return manifest


def _manifest(plan: PackPlan, entries: list[_Entry], items: np.ndarray, crop: int, scale: float,
              max_mb: float, davis: Path | None, static: Path | None) -> dict[str, object]:
    groups = []
    for g, (kind, name) in enumerate(plan.groups):
        rows = np.flatnonzero(items[:, 4] == g)
        total = sum(1 for e in entries if e.group == g)
        if rows.size == 0:
            groups.append({"kind": "davis" if kind == DAVIS else "static", "name": name, "first": -1,
                           "count": 0, "of": total})
            continue
        groups.append({"kind": "davis" if kind == DAVIS else "static", "name": name, "first": int(rows[0]),
                       "count": int(rows.size), "of": total,
                       "size": [int(items[rows[0], 1]), int(items[rows[0], 2])] if kind == DAVIS else None})
    dropped = len(entries) - len(plan.entries)
    decisions = [f"training scale for crop {crop}: DAVIS frames at most {math.ceil(DAVIS_ZOOM * crop)} rows, "
                 f"static images at most {math.ceil(STATIC_ZOOM * crop)} px on the short side "
                 "(never enlarged)"]
    if scale < 1:
        decisions.append(f"--scale {scale}: every item scaled by {scale} on top")
    if plan.factor < 1:
        decisions.append(f"budget: every item downscaled by a further {plan.factor}")
    if plan.stride > 1:
        decisions.append(f"budget: 1 DAVIS frame in {plan.stride} kept "
                         "(clip intervals still count source frames)")
    if plan.static_every > 1:
        decisions.append(f"budget: 1 static image in {plan.static_every} kept (every DAVIS sequence kept)")
    if plan.keep_every > 1:
        decisions.append(f"budget: 1 DAVIS sequence in {plan.keep_every} and 1 static image in "
                         f"{plan.keep_every * plan.static_every} kept "
                         f"({dropped} of {len(entries)} source images dropped)")
    sources = ([{"path": str(davis), "licence": LICENCES["davis2016-train"]}] if davis else []) + (
        [{"path": str(static / name), "licence": LICENCES.get(name, "see the source's README")}
         for kind, name in plan.groups if kind == STATIC] if static else [])
    return {
        "format": FORMAT, "version": VERSION, "crop": crop, "scale": scale, "max_mb": max_mb,
        "factor": plan.factor, "davis_stride": plan.stride, "keep_every": plan.keep_every,
        "static_every": plan.static_every,
        "bytes": int(plan.nbytes), "items": int(items.shape[0]), "pixels": int(items[:, 1].dot(items[:, 2])),
        "decisions": decisions, "sources": sources, "groups": groups,
        "excluded_sequences": list(DEV_SEQUENCES), "item_columns": list(ITEM_COLUMNS),
        "arrays": {"rgb.npy": "P×3 uint8 RGB", "labels.npy": "P uint8 labels (0 = background)",
                   "items.npy": "N×10 int64, columns item_columns"},
        "licence_note": "the pack is derived from the sources above and carries their licences; "
                        "research use only where a source says so; never commit a pack to the repository",
    }


@dataclass(frozen=True)
class PackGroup:
    """A DAVIS sequence (consecutive items in frame order) or a static set."""

    kind: int
    name: str
    items: np.ndarray  # item numbers


class DataPack:
    """A pack opened read-only: ``rgb`` (P×3) and ``labels`` (P) memory-mapped, ``items`` in memory.
    ``stride``: 1 stored DAVIS frame in ``stride`` of the source."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        path = self.root / "manifest.json"
        try:
            self.manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise VosInputError(f"{self.root} is not a training pack: {exc}") from exc
        if self.manifest.get("format") != FORMAT or self.manifest.get("version") != VERSION:
            raise VosInputError(f"{self.root} is not a {FORMAT} version {VERSION}")
        try:
            # copy-on-write maps: writable views for torch.from_numpy, the files are never written
            self.rgb = np.load(self.root / "rgb.npy", mmap_mode="c")
            self.labels = np.load(self.root / "labels.npy", mmap_mode="c")
            self.items = np.load(self.root / "items.npy")
        except (OSError, ValueError) as exc:
            raise VosInputError(f"training pack {self.root} is incomplete: {exc}") from exc
        self.groups = [PackGroup(DAVIS if g["kind"] == "davis" else STATIC, g["name"],
                                 np.arange(g["first"], g["first"] + g["count"]))
                       for g in self.manifest["groups"] if g["count"] > 0]
        self.stride = int(self.manifest["davis_stride"])

    @property
    def sequences(self) -> list[PackGroup]:
        return [g for g in self.groups if g.kind == DAVIS]

    @property
    def static_sets(self) -> list[PackGroup]:
        return [g for g in self.groups if g.kind == STATIC]

    def image(self, item: int) -> tuple[np.ndarray, np.ndarray]:
        """Item -> (H×W×3 RGB, H×W labels), views of the memory-mapped arrays."""
        offset, h, w = (int(v) for v in self.items[item, :3])
        return (self.rgb[offset : offset + h * w].reshape(h, w, 3),
                self.labels[offset : offset + h * w].reshape(h, w))

    def describe(self) -> str:
        m = self.manifest
        return (f"pack {self.root.name}: {m['items']} items, {m['bytes'] / 2**20:.1f} MB, crop {m['crop']}; "
                + "; ".join(m["decisions"]))

