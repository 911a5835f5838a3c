"""Training clips: static-image pseudo-videos, DAVIS 2016 clips and tiny synthetic clips.

Every clip is a pure function of ``(seed, index)``: the generator of sample ``index`` is seeded with
both, so any sample can be re-made exactly (reproducible runs, exact ``--resume``, no data-loader
state to save) and each rank of a distributed run draws different samples.

A clip: ``frames`` T×H×W×3 uint8 RGB, ``labels`` T×H×W uint8 (0 = background, 1..O objects, every
object visible in frame 0), ``n_objects`` O.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from vos_core.data.davis import DEV_SEQUENCES
from vos_core.data.masks import read_mask
from vos_core.errors import VosInputError
from vos_core.train.augment import (
    colour_jitter,
    cover_resize,
    object_crop,
    random_affine,
    warp_image,
    warp_mask,
)
from vos_core.train.config import STATIC_SETS

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")


@dataclass(frozen=True)
class Clip:
    frames: np.ndarray
    labels: np.ndarray
    n_objects: int


def _rng(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, index])


def _min_pixels(hw: tuple[int, int]) -> int:
    return max(16, hw[0] * hw[1] // 400)


def _compact_labels(labels: np.ndarray, min_pixels: int) -> tuple[np.ndarray, int]:
    """Keep objects visible in frame 0 (>= min_pixels) and renumber them 1..O."""
    out = np.zeros_like(labels)
    n = 0
    for obj in range(1, int(labels.max()) + 1):
        if int((labels[0] == obj).sum()) >= min_pixels:
            n += 1
            out[labels == obj] = n
    return out, n


def _read_rgb(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise VosInputError(f"cannot read image {path}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


class ClipSource:
    """Base: ``clip(index, iteration)`` makes one training clip."""

    def __init__(self, hw: tuple[int, int], frames: int, seed: int) -> None:
        self.hw, self.frames, self.seed = hw, frames, seed

    def clip(self, index: int, iteration: int) -> Clip:
        raise NotImplementedError


class StaticPseudoVideos(ClipSource):
    """Pseudo-videos from still images with object masks (seed 001 4.2.1, seed 003 3.5).

    A base image (with its objects: every instance id of its mask, at most ``max_objects``, the
    largest kept) moves under a random affine per frame; more objects cut from other images (one
    instance each) are pasted with their own per-frame affines, up to ``max_objects`` in all;
    sometimes an unlabelled object is pasted as a distractor/occluder. Objects hidden in frame 0 are
    dropped. Images of any size are resized to cover the crop (small ones upscaled), see
    ``cover_resize``. Images are drawn uniformly over all pairs of ``sets``.
    """

    def __init__(self, root: Path, hw: tuple[int, int], frames: int = 3, seed: int = 0,
                 max_objects: int = 3, sets: Sequence[str] = STATIC_SETS) -> None:
        super().__init__(hw, frames, seed)
        self.max_objects = max_objects
        self.pairs: list[tuple[Path, Path]] = []
        for name in sets:
            images, masks = root / name / "images", root / name / "masks"
            if not images.is_dir() or not masks.is_dir():
                raise VosInputError(f"static set {name} not found under {root} (need images/ and masks/)")
            for img in sorted(images.iterdir()):
                mask = masks / (img.stem + ".png")
                if img.suffix.lower() in IMAGE_EXTENSIONS and mask.is_file():
                    self.pairs.append((img, mask))
        if not self.pairs:
            raise VosInputError(f"no image/mask pairs under {root}")

    def _load(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """-> image H×W×3 uint8, instance mask H×W uint8 (0 = background, 1..N objects)."""
        img_path, mask_path = self.pairs[int(rng.integers(len(self.pairs)))]
        img = _read_rgb(img_path)
        mask = read_mask(mask_path).astype(np.uint8)
        if mask.shape != img.shape[:2]:
            mask = cv2.resize(mask, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_NEAREST)
        return img, mask

    def _load_base(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """A random image with its instances renumbered 1..n by size (largest first), n <= max_objects;
        smaller instances beyond that become background."""
        img, mask = self._load(rng)
        ids, counts = np.unique(mask[mask > 0], return_counts=True)
        order = ids[np.argsort(-counts, kind="stable")][: self.max_objects]
        lut = np.zeros(256, np.uint8)
        lut[order] = np.arange(1, order.size + 1, dtype=np.uint8)
        return img, lut[mask]

    def _paste_object(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray] | None:
        """One object (a random instance) cut from a random image, resized to 20-60% of the crop's
        short side."""
        img, mask = self._load(rng)
        ids = np.unique(mask[mask > 0])
        if ids.size == 0:
            return None
        cut = object_crop(img, (mask == ids[int(rng.integers(ids.size))]).astype(np.uint8))
        if cut is None:
            return None
        oimg, omask = cut
        h, w = self.hw
        target = rng.uniform(0.2, 0.6) * min(h, w)
        s = target / max(oimg.shape[:2])
        size = (max(2, int(oimg.shape[1] * s)), max(2, int(oimg.shape[0] * s)))
        return cv2.resize(oimg, size, interpolation=cv2.INTER_LINEAR), cv2.resize(
            omask, size, interpolation=cv2.INTER_NEAREST)

    def clip(self, index: int, iteration: int) -> Clip:
        rng = _rng(self.seed, index)
        h, w = self.hw
        for _attempt in range(8):
            base_img, base_mask = cover_resize(*self._load_base(rng), self.hw, rng)
            n_base = int(base_mask.max())
            mats = [random_affine(rng, self.hw) for _ in range(self.frames)]
            frames = [warp_image(base_img, m, self.hw) for m in mats]
            labels = [warp_mask(base_mask, m, self.hw) for m in mats]
            # 0..max-n_base pasted objects (0..max-1 for a single-object base)
            n_extra = int(rng.integers(0, max(1, self.max_objects - n_base + 1)))
            distractor = rng.random() < 0.3
            for k in range(n_extra + int(distractor)):
                obj = self._paste_object(rng)
                if obj is None:
                    continue
                oimg, omask = obj
                oh, ow = omask.shape
                y, x = rng.uniform(0, max(1, h - oh)), rng.uniform(0, max(1, w - ow))
                label = 0 if k == n_extra else n_base + 1 + k  # the last paste: unlabelled distractor
                for t in range(self.frames):
                    place = np.array([[1, 0, x], [0, 1, y]], np.float32)
                    motion = random_affine(rng, (oh, ow), rotate=15, scale=(0.85, 1.15), shear=5,
                                           translate=0.15)
                    m = np.concatenate([motion, [[0, 0, 1]]])
                    m = (np.concatenate([place, [[0, 0, 1]]]) @ m)[:2]
                    wimg = warp_image(oimg, m, self.hw)
                    wmask = warp_mask(omask, m, self.hw) > 0
                    frames[t][wmask] = wimg[wmask]
                    labels[t][wmask] = label
            lab, n = _compact_labels(np.stack(labels), _min_pixels(self.hw))
            if n > 0:
                frames = [colour_jitter(f, rng, 0.08) for f in frames]
                return Clip(np.stack(frames), lab, n)
        raise VosInputError("could not make a pseudo-video with a visible object (masks empty?)")


def curriculum_skip(iteration: int, total: int, start: int = 2, end: int = 15, ramp: float = 0.6) -> int:
    """Largest frame interval allowed at ``iteration``: grows linearly from ``start`` to ``end`` over
    the first ``ramp`` fraction of training (seed 002's curriculum sampling)."""
    if total <= 0 or ramp <= 0:
        return end
    frac = min(1.0, iteration / (ramp * total))
    return int(round(start + (end - start) * frac))


class DavisClips(ClipSource):
    """Ordered T-frame clips from DAVIS 2016 training sequences, dev split excluded.

    Frame intervals are drawn in 1..curriculum_skip(iteration); one random crop (chosen so the
    object is visible in the first frame) and flip for the whole clip, colour jitter per frame.
    """

    def __init__(self, root: Path, hw: tuple[int, int], frames: int = 3, seed: int = 0,
                 total_iters: int = 1, skip_range: tuple[int, int] = (2, 15),
                 exclude: Sequence[str] = DEV_SEQUENCES) -> None:
        super().__init__(hw, frames, seed)
        self.total_iters, self.skip_range = total_iters, skip_range
        images = root / "JPEGImages" / "480p"
        annotations = root / "Annotations" / "480p"
        listing = root / "ImageSets" / "train.txt"
        if not images.is_dir() or not annotations.is_dir():
            raise VosInputError(f"{root} is not a DAVIS dataset (JPEGImages/480p, Annotations/480p)")
        names = (
            [ln.strip() for ln in listing.read_text().splitlines() if ln.strip()]
            if listing.is_file()
            else sorted(p.name for p in images.iterdir() if p.is_dir())
        )
        self.sequences: list[tuple[list[Path], list[Path]]] = []
        self.names = [n for n in names if n not in set(exclude)]
        for name in self.names:
            jpgs = sorted((images / name).glob("*.jpg"))
            pngs = [annotations / name / (p.stem + ".png") for p in jpgs]
            if len(jpgs) >= frames and all(p.is_file() for p in pngs):
                self.sequences.append((jpgs, pngs))
        if not self.sequences:
            raise VosInputError(f"no usable training sequences in {root}")

    def _indices(self, rng: np.random.Generator, n: int, iteration: int) -> list[int]:
        max_skip = curriculum_skip(iteration, self.total_iters, *self.skip_range)
        max_skip = max(1, min(max_skip, (n - 1) // max(1, self.frames - 1)))
        steps = rng.integers(1, max_skip + 1, size=self.frames - 1)
        start = int(rng.integers(0, n - int(steps.sum())))
        idx = [start, *(start + np.cumsum(steps)).tolist()]
        return idx[::-1] if rng.random() < 0.5 else idx

    def clip(self, index: int, iteration: int) -> Clip:
        rng = _rng(self.seed, index)
        h, w = self.hw
        for _attempt in range(8):
            jpgs, pngs = self.sequences[int(rng.integers(len(self.sequences)))]
            idx = self._indices(rng, len(jpgs), iteration)
            imgs = [_read_rgb(jpgs[i]) for i in idx]
            masks = [(read_mask(pngs[i]) > 0).astype(np.uint8) for i in idx]
            ih, iw = imgs[0].shape[:2]
            s = max(h / ih, w / iw) * rng.uniform(1.0, 1.25)
            nh, nw = max(h, int(np.ceil(ih * s))), max(w, int(np.ceil(iw * s)))
            imgs = [cv2.resize(im, (nw, nh), interpolation=cv2.INTER_AREA) for im in imgs]
            masks = [cv2.resize(m, (nw, nh), interpolation=cv2.INTER_NEAREST) for m in masks]
            ys, xs = np.nonzero(masks[0])
            if ys.size == 0:
                continue
            # crop around a random object pixel so the object is visible in the first frame
            k = int(rng.integers(ys.size))
            y = int(np.clip(ys[k] - rng.integers(0, h), 0, nh - h))
            x = int(np.clip(xs[k] - rng.integers(0, w), 0, nw - w))
            flip = rng.random() < 0.5
            frames, labels = [], []
            for im, m in zip(imgs, masks, strict=True):
                im, m = im[y : y + h, x : x + w], m[y : y + h, x : x + w]
                if flip:
                    im, m = im[:, ::-1], m[:, ::-1]
                frames.append(colour_jitter(np.ascontiguousarray(im), rng, 0.05))
                labels.append(np.ascontiguousarray(m))
            lab, n = _compact_labels(np.stack(labels), _min_pixels(self.hw))
            if n > 0:
                return Clip(np.stack(frames), lab, n)
        raise VosInputError("could not sample a DAVIS clip with a visible object")


class SyntheticClips(ClipSource):
    """Tiny generated clips (textured squares over a textured background), for tests and smoke runs."""

    def __init__(self, hw: tuple[int, int], frames: int = 3, seed: int = 0, max_objects: int = 2) -> None:
        super().__init__(hw, frames, seed)
        self.max_objects = max_objects

    def clip(self, index: int, iteration: int) -> Clip:
        rng = _rng(self.seed, index)
        h, w = self.hw
        cell = 8
        base = rng.integers(0, 256, (h // cell + 1, w // cell + 1, 3)).astype(np.uint8)
        bg = np.kron(base, np.ones((cell, cell, 1), np.uint8))[:h, :w]
        n = int(rng.integers(1, self.max_objects + 1))
        size = max(6, min(h, w) // 4)
        frames = [bg.copy() for _ in range(self.frames)]
        labels = [np.zeros((h, w), np.uint8) for _ in range(self.frames)]
        for k in range(n):
            tex = rng.integers(0, 256, (size // 4 + 1, size // 4 + 1, 3)).astype(np.uint8)
            tex = np.kron(tex, np.ones((4, 4, 1), np.uint8))[:size, :size]
            y, x = rng.uniform(0, h - size), rng.uniform(0, w - size)
            vy, vx = rng.uniform(-3, 3, size=2)
            for t in range(self.frames):
                yy = int(np.clip(y + vy * t, 0, h - size))
                xx = int(np.clip(x + vx * t, 0, w - size))
                frames[t][yy : yy + size, xx : xx + size] = tex
                labels[t][yy : yy + size, xx : xx + size] = k + 1
        lab, n = _compact_labels(np.stack(labels), 4)
        return Clip(np.stack(frames), lab, n)


class MixedClips(ClipSource):
    """Interleaves sources by sample index (index i comes from ``sources[i % n]``), so every batch
    holds clips of each: e.g. DAVIS clips and static pseudo-videos, half each."""

    def __init__(self, sources: Sequence[ClipSource]) -> None:
        if not sources:
            raise ValueError("MixedClips needs at least one source")
        first = sources[0]
        if any(s.hw != first.hw or s.frames != first.frames for s in sources):
            raise ValueError("mixed sources must make clips of the same size and length")
        super().__init__(first.hw, first.frames, first.seed)
        self.sources = tuple(sources)

    def clip(self, index: int, iteration: int) -> Clip:
        n = len(self.sources)
        return self.sources[index % n].clip(index // n, iteration)


class ClipDataset(Dataset):
    """Map-style dataset: index -> clip tensors. ``samples_per_iter`` maps an index to its iteration."""

    def __init__(self, source: ClipSource, samples_per_iter: int) -> None:
        self.source, self.samples_per_iter = source, samples_per_iter

    def __len__(self) -> int:
        return 1 << 40

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        clip = self.source.clip(int(index), int(index) // self.samples_per_iter)
        frames = torch.from_numpy(np.ascontiguousarray(clip.frames)).permute(0, 3, 1, 2)
        return frames, torch.from_numpy(clip.labels), clip.n_objects


def collate(
    batch: Sequence[tuple[torch.Tensor, torch.Tensor, int]],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """-> frames B×T×3×H×W uint8, labels B×T×H×W uint8, n_objects B long."""
    frames = torch.stack([b[0] for b in batch])
    labels = torch.stack([b[1] for b in batch])
    n = torch.tensor([b[2] for b in batch], dtype=torch.long)
    return frames, labels, n


class IterationSampler(Sampler[int]):
    """Sample indices of this rank for iterations ``start..stop-1``: iteration i, rank r, slot j ->
    ``(i·world + r)·batch + j``. Restarting at any iteration reproduces the same samples."""

    def __init__(self, start: int, stop: int, batch: int, rank: int = 0, world: int = 1) -> None:
        self.start, self.stop, self.batch, self.rank, self.world = start, stop, batch, rank, world

    def __iter__(self) -> Iterator[int]:
        for i in range(self.start, self.stop):
            base = (i * self.world + self.rank) * self.batch
            yield from range(base, base + self.batch)

    def __len__(self) -> int:
        return max(0, self.stop - self.start) * self.batch
