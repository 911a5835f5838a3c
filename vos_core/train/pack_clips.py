"""Training clips from a pack (``vos_core.data.pack``), rendered in batches on any device.

The same kinds of clips as the folder readers of ``vos_core.train.data``: DAVIS clips (ordered
frames at curriculum intervals, one zoom, crop around an object pixel of the first frame and flip per
clip) and static pseudo-videos (a base image with its instances, at most ``max_objects``, under a
random affine per frame, pasted objects (one instance each) with their own per-frame affines up to
``max_objects`` in all, sometimes an unlabelled distractor); colour jitter per frame;
objects hidden in frame 0 dropped. Every random choice is drawn on the CPU from the sample's
generator, seeded with ``(seed, index)`` as there, so a sample is a pure function of its index; the
pixels are drawn by ``vos_core.train.device_augment`` on the device.

``PackClipMaker.make(indices)`` renders a batch (B×T×3×H×W uint8, B×T×H×W uint8, B long) on its
device; ``PackClips`` is the per-sample ``ClipSource`` for CPU data-loader workers;
``DeviceBatches`` yields a rank's batches for a range of iterations (``IterationSampler`` order).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch

from vos_core.data.box import mask_box
from vos_core.data.pack import DataPack
from vos_core.errors import VosInputError
from vos_core.train.augment import random_affine
from vos_core.train.data import Clip, ClipSource, IterationSampler, curriculum_skip
from vos_core.train.device_augment import (
    LayerBatch,
    PackPixels,
    colour_jitter,
    compact_labels,
    label_table,
    render,
)

PackStage = Literal["static", "video", "mixed"]
ATTEMPTS = 8


@dataclass
class _Frame:
    # (item, 3×3 forward, label table: source label value -> label written, see ``label_table``)
    layers: list[tuple[int, np.ndarray, np.ndarray]] = field(default_factory=list)
    jitter: tuple[np.ndarray, float, float] = (np.ones(3, np.float32), 1.0, 0.0)


def _scale_map(src_hw: tuple[int, int], dst_hw: tuple[int, int]) -> np.ndarray:
    """3×3 forward map of ``cv2.resize`` from src_hw to dst_hw (pixel centres)."""
    sy, sx = dst_hw[0] / src_hw[0], dst_hw[1] / src_hw[1]
    return np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]])


def _shift(x: float, y: float) -> np.ndarray:
    return np.array([[1.0, 0, x], [0, 1, y], [0, 0, 1]])


def _affine3(m: np.ndarray) -> np.ndarray:
    return np.concatenate([m.astype(np.float64), [[0, 0, 1]]])


def _jitter(rng: np.random.Generator, strength: float) -> tuple[np.ndarray, float, float]:
    gain = 1.0 + rng.uniform(-strength, strength, size=3).astype(np.float32)
    return gain, 1.0 + rng.uniform(-strength, strength), rng.uniform(-strength, strength)


class PackClipMaker:
    """Plans clips from ``pack`` and renders them on ``device``.

    stage: "video" (DAVIS clips), "static" (pseudo-videos) or "mixed" (index i is a DAVIS clip when
    i is even, a pseudo-video otherwise, each numbered i // 2, as ``MixedClips``); hw: crop H×W;
    frames: T; total_iters / skip_range: the frame-interval curriculum of ``DavisClips``.
    """

    def __init__(self, pack: DataPack, stage: PackStage, hw: tuple[int, int], frames: int = 3, seed: int = 0,
                 device: torch.device | str = "cpu", total_iters: int = 1,
                 skip_range: tuple[int, int] = (2, 15), max_objects: int = 3,
                 resident: bool | None = None) -> None:
        self.pack, self.stage, self.hw, self.frames, self.seed = pack, stage, hw, frames, seed
        self.total_iters, self.skip_range, self.max_objects = total_iters, skip_range, max_objects
        self.device = torch.device(device)
        self.sequences = [g.items for g in pack.sequences if g.items.size >= frames]
        self.static_items = (np.concatenate([g.items for g in pack.static_sets]) if pack.static_sets
                             else np.zeros(0, np.int64))
        self.paste_items = self.static_items[pack.items[self.static_items, 6] >= 0]
        if stage in ("video", "mixed") and not self.sequences:
            raise VosInputError(f"the pack has no DAVIS sequence of {frames} frames or more")
        if stage in ("static", "mixed") and not self.paste_items.size:
            raise VosInputError("the pack has no static image with an object")
        self.pixels = PackPixels(pack, self.device, resident)
        self.min_pixels = max(16, hw[0] * hw[1] // 400)
        self._instances: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def instances(self, item: int) -> tuple[np.ndarray, np.ndarray]:
        """The item's object labels (> 0) and their pixel counts, largest first (cached)."""
        if item not in self._instances:
            counts = np.bincount(self.pack.image(item)[1].reshape(-1), minlength=256)[1:]
            ids = np.flatnonzero(counts) + 1
            order = np.argsort(-counts[ids - 1], kind="stable")
            self._instances[item] = ids[order], counts[ids[order] - 1]
        return self._instances[item]

    def _instance_box(self, item: int, label: int) -> tuple[int, int, int, int]:
        """Bounding box (y0, y1, x0, x1) of one object label of an item."""
        if self.instances(item)[0].size == 1:
            return tuple(int(v) for v in self.pack.items[item, 6:10])  # type: ignore[return-value]
        box = mask_box(self.pack.image(item)[1] == label)
        if box is None:
            raise ValueError(f"label {label} is not in pack item {item}")
        y0, x0, y1, x1 = box
        return y0, y1, x0, x1

    # ------------------------------------------------------------------ planning (CPU, seeded)
    def _kind(self, index: int) -> tuple[bool, int]:
        """(is a DAVIS clip, number of the sample within its kind)."""
        if self.stage == "mixed":
            return index % 2 == 0, index // 2
        return self.stage == "video", index

    def _object_pixel(self, rng: np.random.Generator, item: int) -> tuple[int, int] | None:
        """A pixel of the item's object, uniform over the object (rejection in its bounding box)."""
        y0, y1, x0, x1 = (int(v) for v in self.pack.items[item, 6:10])
        if y0 < 0:
            return None
        offset, w = int(self.pack.items[item, 0]), int(self.pack.items[item, 2])
        for _ in range(64):
            y, x = int(rng.integers(y0, y1)), int(rng.integers(x0, x1))
            if self.pack.labels[offset + y * w + x]:
                return y, x
        return (y0 + y1) // 2, (x0 + x1) // 2

    def _video_plan(self, rng: np.random.Generator, iteration: int) -> list[_Frame] | None:
        h, w = self.hw
        seq = self.sequences[int(rng.integers(len(self.sequences)))]
        n, t = seq.size, self.frames
        max_skip = curriculum_skip(iteration, self.total_iters, *self.skip_range)
        max_skip = max(1, round(max_skip / self.pack.stride))
        max_skip = max(1, min(max_skip, (n - 1) // max(1, t - 1)))
        steps = rng.integers(1, max_skip + 1, size=t - 1)
        start = int(rng.integers(0, n - int(steps.sum())))
        idx = [start, *(start + np.cumsum(steps)).tolist()]
        items = [int(seq[i]) for i in (idx[::-1] if rng.random() < 0.5 else idx)]
        ih, iw = (int(v) for v in self.pack.items[items[0], 1:3])
        s = max(h / ih, w / iw) * rng.uniform(1.0, 1.25)
        nh, nw = max(h, math.ceil(ih * s)), max(w, math.ceil(iw * s))
        pixel = self._object_pixel(rng, items[0])
        if pixel is None:
            return None
        py, px = (round((pixel[0] + 0.5) * nh / ih - 0.5), round((pixel[1] + 0.5) * nw / iw - 0.5))
        y = int(np.clip(py - rng.integers(0, h), 0, nh - h))
        x = int(np.clip(px - rng.integers(0, w), 0, nw - w))
        forward = _shift(-x, -y) @ _scale_map((ih, iw), (nh, nw))
        if rng.random() < 0.5:
            forward = np.array([[-1.0, 0, w - 1], [0, 1, 0], [0, 0, 1]]) @ forward
        table = label_table({0: 0}, 1)
        return [_Frame([(item, forward, table)], _jitter(rng, 0.05)) for item in items]

    def _static_plan(self, rng: np.random.Generator) -> list[_Frame]:
        h, w = self.hw
        base = int(self.static_items[int(rng.integers(self.static_items.size))])
        ih, iw = (int(v) for v in self.pack.items[base, 1:3])
        s = max(h / ih, w / iw) * rng.uniform(1.0, 1.3)
        nh, nw = max(h, math.ceil(ih * s)), max(w, math.ceil(iw * s))
        y, x = int(rng.integers(0, nh - h + 1)), int(rng.integers(0, nw - w + 1))
        cover = _shift(-x, -y) @ _scale_map((ih, iw), (nh, nw))
        kept = self.instances(base)[0][: self.max_objects]  # the largest instances; the rest: background
        n_base = int(kept.size)
        table = label_table({0: 0, **{int(v): k + 1 for k, v in enumerate(kept)}}, 0)
        plan = [_Frame([(base, _affine3(random_affine(rng, self.hw)) @ cover, table)])
                for _ in range(self.frames)]
        # 0..max-n_base pasted objects (0..max-1 for a single-object base)
        n_extra = int(rng.integers(0, max(1, self.max_objects - n_base + 1)))
        distractor = rng.random() < 0.3
        for k in range(n_extra + int(distractor)):
            item = int(self.paste_items[int(rng.integers(self.paste_items.size))])
            ids = self.instances(item)[0]
            instance = int(ids[int(rng.integers(ids.size))]) if ids.size > 1 else int(ids[0])
            y0, y1, x0, x1 = self._instance_box(item, instance)
            target = rng.uniform(0.2, 0.6) * min(h, w)
            scale = target / max(y1 - y0, x1 - x0)
            oh, ow = max(2, int((y1 - y0) * scale)), max(2, int((x1 - x0) * scale))
            resize = _scale_map((y1 - y0, x1 - x0), (oh, ow)) @ _shift(-x0, -y0)
            oy, ox = rng.uniform(0, max(1, h - oh)), rng.uniform(0, max(1, w - ow))
            label = 0 if k == n_extra else n_base + 1 + k  # the last paste: unlabelled distractor
            paste = label_table({instance: label}, -1)
            for frame in plan:
                motion = random_affine(rng, (oh, ow), rotate=15, scale=(0.85, 1.15), shear=5, translate=0.15)
                frame.layers.append((item, _shift(ox, oy) @ _affine3(motion) @ resize, paste))
        for frame in plan:
            frame.jitter = _jitter(rng, 0.08)
        return plan

    def plan(self, rng: np.random.Generator, video: bool, iteration: int) -> list[_Frame] | None:
        """The T frames of one clip (None: no object to crop around, draw again)."""
        return self._video_plan(rng, iteration) if video else self._static_plan(rng)

    # ------------------------------------------------------------------ rendering (device)
    def _render(self, plans: list[list[_Frame]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        frames = [f for clip in plans for f in clip]
        layers = [(j, k, item, forward, label) for j, f in enumerate(frames)
                  for k, (item, forward, label) in enumerate(f.layers)]
        slot = np.array([layer[1] for layer in layers])
        rows = np.array([layer[0] for layer in layers])
        items = np.array([layer[2] for layer in layers], np.int64)
        inverse = np.linalg.inv(np.stack([layer[3] for layer in layers]))[:, :2].astype(np.float32)
        tables = np.stack([layer[4] for layer in layers])
        pixels, table_rows = self.pixels.gather(items)
        dev = self.device

        def put(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(a)).to(dev, non_blocking=True)

        slots = [LayerBatch(put(rows[sel]), put(table_rows[sel]), put(inverse[sel]), put(tables[sel]))
                 for sel in (slot == k for k in range(int(slot.max()) + 1))]
        rgb, lab = render(pixels, slots, self.hw)
        gain = put(np.stack([f.jitter[0] for f in frames]).astype(np.float32))
        contrast = put(np.array([f.jitter[1] for f in frames], np.float32))
        bright = put(np.array([f.jitter[2] for f in frames], np.float32))
        rgb = colour_jitter(rgb, gain, contrast, bright)
        b, t = len(plans), self.frames
        lab, n_objects = compact_labels(lab.reshape(b, t, *self.hw), self.min_pixels, self.max_objects + 2)
        return rgb.reshape(b, t, 3, *self.hw), lab, n_objects

    def make(self, indices: Sequence[int], iteration: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Clips ``indices`` -> frames B×T×3×H×W uint8, labels B×T×H×W uint8, objects B long, all on the
        device. A clip with no visible object is drawn again from its generator (8 tries)."""
        rngs, kinds = [], []
        for index in indices:
            video, number = self._kind(int(index))
            rngs.append(np.random.default_rng([self.seed, number]))
            kinds.append(video)
        todo = list(range(len(indices)))
        out: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        for _attempt in range(ATTEMPTS):
            plans: list[list[_Frame]] = []
            for i in todo:
                plan = None
                for _draw in range(ATTEMPTS):
                    plan = self.plan(rngs[i], kinds[i], iteration)
                    if plan is not None:
                        break
                if plan is None:
                    raise VosInputError("could not sample a clip with a visible object from the pack")
                plans.append(plan)
            frames, labels, n_objects = self._render(plans)
            if out is None:
                out = (frames, labels, n_objects)
            else:
                where = torch.tensor(todo, device=self.device)
                out[0][where], out[1][where], out[2][where] = frames, labels, n_objects
            empty = (n_objects == 0).nonzero().flatten().tolist()  # one sync per batch
            if not empty:
                return out
            todo = [todo[e] for e in empty]
        raise VosInputError("could not make a clip with a visible object from the pack (masks empty?)")


class PackClips(ClipSource):
    """Per-sample clips from a pack on the CPU, for the data loader's workers (``ClipDataset``)."""

    def __init__(self, maker: PackClipMaker) -> None:
        super().__init__(maker.hw, maker.frames, maker.seed)
        self.maker = maker

    def clip(self, index: int, iteration: int) -> Clip:
        frames, labels, n = self.maker.make([index], iteration)
        return Clip(frames[0].permute(0, 2, 3, 1).cpu().numpy(), labels[0].cpu().numpy(), int(n[0]))


class DeviceBatches:
    """A rank's batches for iterations ``start..stop-1`` in ``IterationSampler`` order, rendered on
    the maker's device: yields (frames, labels, n_objects) as ``collate`` does, already there."""

    def __init__(self, maker: PackClipMaker, start: int, stop: int, batch: int, rank: int = 0,
                 world: int = 1) -> None:
        self.maker = maker
        self.sampler = IterationSampler(start, stop, batch, rank, world)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        s = self.sampler
        for iteration in range(s.start, s.stop):
            base = (iteration * s.world + s.rank) * s.batch
            yield self.maker.make(range(base, base + s.batch), iteration)

    def __len__(self) -> int:
        return max(0, self.sampler.stop - self.sampler.start)
