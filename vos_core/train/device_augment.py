"""Batched clip rendering on any device (CPU or CUDA): the augmentation of the clip makers, done in
one pass over a whole batch of frames.

The planner (``vos_core.train.pack_clips``) draws every random choice on the CPU from the sample's
seeded generator and describes each output frame as *layers*: a pack item and the affine map from
output pixels to that item's pixels. This module draws them: slot 0 is the frame's base (bilinear
colour, reflected borders, labels by the layer's table), later slots paste an object (bilinear
colour and label where the layer's table maps the source's label, sampled nearest with zeros
outside, to a label >= 0). A table maps each source label value (0..255) to the label written:
a multi-object image keeps its instances as separate objects, a paste takes one instance.
Then per-frame colour jitter and the renumbering of the objects visible in frame 0, as the CPU clip
makers of ``vos_core.train.data`` do. Pixels come from the memory-mapped pack as uint8 and become
float only on the device: either the whole pack lives there (``resident``), or each batch's items
are gathered into pinned memory and copied asynchronously (CUDA).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vos_core.data.pack import DataPack


@dataclass(frozen=True)
class Pixels:
    """Pixel buffers on the render device: ``rgb`` P×3 uint8, ``labels`` P uint8, ``table`` N×3 long
    (offset, height, width of each item)."""

    rgb: torch.Tensor
    labels: torch.Tensor
    table: torch.Tensor


@dataclass(frozen=True)
class LayerBatch:
    """One layer slot of the F' frames that have it: ``rows`` F' long (which of the F frames; slot 0,
    the base, has every frame in order), ``items`` F' long (rows of ``Pixels.table``), ``inverse``
    F'×2×3 float32 (output pixel (x, y, 1) -> source pixel (x, y), pixel centres at integers),
    ``tables`` F'×256 long (``label_table``: source label value -> the label the layer writes, 0 =
    background or an unlabelled occluder, -1 = not part of the layer)."""

    rows: torch.Tensor
    items: torch.Tensor
    inverse: torch.Tensor
    tables: torch.Tensor


def label_table(mapping: dict[int, int], rest: int) -> np.ndarray:
    """256 int64: ``mapping[v]`` for the source label values it names, ``rest`` for the others.

    Base layer of a 0/1 image: ``label_table({0: 0}, 1)``; a paste of instance 3 written as label
    2: ``label_table({3: 2}, -1)`` (-1: the layer does not cover those pixels)."""
    table = np.full(256, rest, np.int64)
    for value, label in mapping.items():
        table[value] = label
    return table


def _reflect101(i: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
    """Integer coordinates folded into [0, n) as OpenCV's BORDER_REFLECT_101 does (one fold: enough
    for overshoots under n, which the clip makers' small warps never exceed; clamped beyond)."""
    i = i.abs()
    return torch.where(i >= n, 2 * (n - 1) - i, i).clamp(min=0).minimum(n - 1)


def _source_coords(inverse: torch.Tensor, hw: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """F×2×3 maps -> source x, y of every output pixel, each F×(H·W) float32."""
    h, w = hw
    ys, xs = torch.meshgrid(torch.arange(h, device=inverse.device, dtype=torch.float32),
                            torch.arange(w, device=inverse.device, dtype=torch.float32), indexing="ij")
    grid = torch.stack([xs.reshape(-1), ys.reshape(-1), torch.ones_like(xs).reshape(-1)])  # 3×HW
    src = inverse @ grid  # F×2×HW
    return src[:, 0], src[:, 1]


def _bilinear(pix: Pixels, items: torch.Tensor, sx: torch.Tensor, sy: torch.Tensor,
              reflect: bool) -> torch.Tensor:
    """Colour at (sx, sy) of each frame's item -> F×HW×3 float32 (reflected or clamped borders)."""
    off, h, w = pix.table[items].unbind(-1)
    off, h, w = off[:, None], h[:, None], w[:, None]
    x0f, y0f = sx.floor(), sy.floor()
    fx, fy = (sx - x0f)[..., None], (sy - y0f)[..., None]
    x0, y0 = x0f.long(), y0f.long()
    if reflect:
        xs = (_reflect101(x0, w), _reflect101(x0 + 1, w))
        ys = (_reflect101(y0, h), _reflect101(y0 + 1, h))
    else:
        xs = (x0.clamp(min=0).minimum(w - 1), (x0 + 1).clamp(min=0).minimum(w - 1))
        ys = (y0.clamp(min=0).minimum(h - 1), (y0 + 1).clamp(min=0).minimum(h - 1))

    idx = torch.stack([off + ys[0] * w + xs[0], off + ys[0] * w + xs[1],
                       off + ys[1] * w + xs[0], off + ys[1] * w + xs[1]])
    c = pix.rgb.index_select(0, idx.reshape(-1)).reshape(4, *sx.shape, 3).float()
    top = c[0] + (c[1] - c[0]) * fx
    bottom = c[2] + (c[3] - c[2]) * fx
    return top + (bottom - top) * fy


def _nearest_labels(pix: Pixels, items: torch.Tensor, sx: torch.Tensor, sy: torch.Tensor) -> torch.Tensor:
    """Source label nearest to (sx, sy), 0 outside the item -> F×HW uint8."""
    off, h, w = pix.table[items].unbind(-1)
    off, h, w = off[:, None], h[:, None], w[:, None]
    x, y = (sx + 0.5).floor().long(), (sy + 0.5).floor().long()
    inside = (x >= 0) & (x < w) & (y >= 0) & (y < h)
    idx = (off + y.clamp(min=0).minimum(h - 1) * w + x.clamp(min=0).minimum(w - 1)).reshape(-1)
    return pix.labels.index_select(0, idx).reshape(sx.shape) * inside


def render(pix: Pixels, slots: list[LayerBatch], hw: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw F frames from their layers -> (colours F×3×H×W float32 in [0, 255], labels F×H×W long)."""
    base = slots[0]
    sx, sy = _source_coords(base.inverse, hw)
    rgb = _bilinear(pix, base.items, sx, sy, reflect=True)
    labels = base.tables.gather(1, _nearest_labels(pix, base.items, sx, sy).long()).clamp(min=0)
    for slot in slots[1:]:
        rows = slot.rows
        sx, sy = _source_coords(slot.inverse, hw)
        written = slot.tables.gather(1, _nearest_labels(pix, slot.items, sx, sy).long())
        hit = written >= 0
        paste = _bilinear(pix, slot.items, sx, sy, reflect=False)
        rgb[rows] = torch.where(hit[..., None], paste, rgb[rows])
        labels[rows] = torch.where(hit, written, labels[rows])
    f = rgb.shape[0]
    return rgb.reshape(f, *hw, 3).permute(0, 3, 1, 2), labels.reshape(f, *hw)


def colour_jitter(frames: torch.Tensor, gain: torch.Tensor, contrast: torch.Tensor,
                  brightness: torch.Tensor) -> torch.Tensor:
    """Per-frame contrast about the frame's mean, per-channel gain, brightness offset (fractions of
    255), as ``vos_core.train.augment.colour_jitter``: F×3×H×W float -> F×3×H×W uint8.
    gain F×3, contrast F, brightness F."""
    mean = frames.mean(dim=(1, 2, 3), keepdim=True)
    out = (frames - mean) * contrast[:, None, None, None] + mean
    out = out * gain[:, :, None, None] + brightness[:, None, None, None] * 255
    return out.clamp(0, 255).to(torch.uint8)  # truncation, as numpy's astype


def compact_labels(labels: torch.Tensor, min_pixels: int, n_labels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Keep the objects with >= min_pixels in frame 0 and renumber them 1..O in label order, per clip:
    labels B×T×H×W (values < n_labels) -> (B×T×H×W uint8, O per clip B long)."""
    b = labels.shape[0]
    flat = labels.reshape(b, -1).long()
    first = labels[:, 0].reshape(b, -1).long()
    counts = torch.zeros(b, n_labels, dtype=torch.long, device=labels.device)
    counts.scatter_add_(1, first, torch.ones_like(first))
    keep = counts >= min_pixels
    keep[:, 0] = False
    new_ids = keep.long().cumsum(1) * keep
    out = new_ids.gather(1, flat).to(torch.uint8).reshape(labels.shape)
    return out, keep.sum(1)


class PackPixels:
    """The pack's pixels for rendering on ``device``.

    Resident: the whole pack is one buffer there (on the CPU that is the memory map itself, on CUDA
    a copy made once; ``None`` = on CUDA when it takes under a quarter of the free memory). Otherwise
    each batch's items are gathered from the memory map into a pinned staging buffer (two, used in
    turn) and copied asynchronously.
    """

    def __init__(self, pack: DataPack, device: torch.device, resident: bool | None = None) -> None:
        self.pack, self.device = pack, device
        nbytes = pack.rgb.nbytes + pack.labels.nbytes
        if resident is None:
            resident = device.type != "cuda" or nbytes < torch.cuda.mem_get_info(device)[0] // 4
        self.resident = resident
        self._table = torch.from_numpy(pack.items[:, :3].copy())
        if resident:
            rgb, lab = torch.from_numpy(pack.rgb), torch.from_numpy(pack.labels)
            self._pixels = Pixels(rgb.to(device), lab.to(device), self._table.to(device))
        self._staging: list[tuple[torch.Tensor, torch.cuda.Event | None]] = []
        self._turn = 0

    def gather(self, items: np.ndarray) -> tuple[Pixels, np.ndarray]:
        """Pixels holding at least ``items`` (pack item numbers) and, for each of them, its row in
        ``Pixels.table``."""
        if self.resident:
            return self._pixels, items
        unique, rows = np.unique(items, return_inverse=True)
        sizes = self.pack.items[unique, 1] * self.pack.items[unique, 2]
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        total = int(sizes.sum())
        buffer = self._stage(total)
        staged = buffer.numpy()
        for item, start, size in zip(unique, offsets, sizes, strict=True):
            src = int(self.pack.items[item, 0])
            staged[start : start + size, :3] = self.pack.rgb[src : src + size]
            staged[start : start + size, 3] = self.pack.labels[src : src + size]
        moved = buffer[:total].to(self.device, non_blocking=True)
        self._record()
        table = np.stack([offsets, self.pack.items[unique, 1], self.pack.items[unique, 2]], axis=1)
        pixels = Pixels(moved[:, :3], moved[:, 3], torch.from_numpy(table).to(self.device, non_blocking=True))
        return pixels, rows.reshape(items.shape)

    def _stage(self, total: int) -> torch.Tensor:
        """The next staging buffer (N×4 uint8, pinned on CUDA), once its previous copy is done."""
        pin = self.device.type == "cuda"
        if len(self._staging) < 2:
            self._staging.append((torch.empty(0, 4, dtype=torch.uint8), None))
        buffer, event = self._staging[self._turn]
        if event is not None:
            event.synchronize()
        if buffer.shape[0] < total:
            buffer = torch.empty(int(total * 1.25), 4, dtype=torch.uint8, pin_memory=pin)
            self._staging[self._turn] = (buffer, None)
        return buffer

    def _record(self) -> None:
        buffer, _ = self._staging[self._turn]
        event = torch.cuda.Event() if self.device.type == "cuda" else None
        if event is not None:
            event.record()
        self._staging[self._turn] = (buffer, event)
        self._turn = 1 - self._turn
