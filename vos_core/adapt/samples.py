"""Training samples for per-video adaptation: augmented copies of a given frame and its mask.

A given mask is turned into ``copies`` views of the same object, as the video may show it later
(a random affine motion per copy, a little colour change), each encoded ONCE by the model's own
frame encoder (gradient-free: ONNX Runtime on the CPU). Every adaptation step then reuses these
cached features, so a step costs only the heads it trains.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from vos_core.models.base import FrameFeatures, VosModel


@dataclass(frozen=True)
class GivenFrame:
    """One given mask's training data at the processing resolution (h×w).

    index: the frame; views: the encoded copies (view 0 is the frame itself, unwarped), float16
    (:func:`fresh` gives them as float32); labels: V×h×w object ids of the views (0 = background,
    the given mask's dtype).
    """

    index: int
    views: tuple[FrameFeatures, ...]
    labels: torch.Tensor

    @property
    def hw(self) -> tuple[int, int]:
        return self.views[0].image_hw


def _recast(frame: FrameFeatures, dtype: torch.dtype) -> FrameFeatures:
    """A new features object of the same type with its tensors as ``dtype`` (always copies; a
    ``fine_key`` that is the ``key`` stays one tensor; an architecture's scratch ``stash`` starts
    empty). Outside inference mode the copies are ordinary tensors autograd graphs may save."""
    key = frame.key.to(dtype, copy=True)
    fine = frame.fine_key
    if fine is not None:
        fine = key if fine is frame.key else fine.to(dtype, copy=True)
    skips = tuple(s.to(dtype, copy=True) for s in frame.skips)
    return type(frame)(key=key, fine_key=fine, skips=skips, image_hw=frame.image_hw)


def fresh(frame: FrameFeatures) -> FrameFeatures:
    """A stored view as float32 features for one training step (its own empty ``stash``)."""
    return _recast(frame, torch.float32)


def _motion(rng: np.random.Generator, hw: tuple[int, int], centre: tuple[float, float]) -> np.ndarray:
    """A random similarity (rotation ±12°, scale 0.85-1.15 about ``centre``, shift ±8%): 2×3."""
    h, w = hw
    m = cv2.getRotationMatrix2D(centre, float(rng.uniform(-12, 12)), float(rng.uniform(0.85, 1.15)))
    m[:, 2] += rng.uniform(-0.08, 0.08, 2) * (w, h)
    return m


def augmented_views(
    rgb: np.ndarray, labels: np.ndarray, copies: int, rng: np.random.Generator
) -> list[tuple[np.ndarray, np.ndarray]]:
    """h×w×3 uint8 frame + h×w labels -> [(frame, labels)]: the frame itself, then ``copies``
    moved copies (about the objects' centre, as a few frames later; reflected borders, labels by
    nearest neighbour, zero outside) with a small brightness/contrast change."""
    h, w = labels.shape
    ys, xs = np.nonzero(labels)
    centre = (float(xs.mean()), float(ys.mean())) if ys.size else (w / 2.0, h / 2.0)
    out = [(rgb, labels)]
    for _ in range(copies):
        m = _motion(rng, (h, w), centre)
        img = cv2.warpAffine(rgb, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        lab = cv2.warpAffine(
            labels.astype(np.float32), m, (w, h), flags=cv2.INTER_NEAREST,
            borderMode=cv2.BORDER_CONSTANT, borderValue=0,
        ).astype(labels.dtype)
        gain, shift = rng.uniform(0.92, 1.08), rng.uniform(-12, 12)
        out.append((np.clip(img.astype(np.float32) * gain + shift, 0, 255).astype(np.uint8), lab))
    return out


def encode_given(
    model: VosModel,
    index: int,
    rgb: np.ndarray,
    labels: np.ndarray,
    copies: int,
    seed: int,
    device: torch.device,
    workers: int = 1,
) -> GivenFrame:
    """A given frame (h×w×3 uint8) and its h×w labels, both at the processing size -> ``copies``
    augmented copies and the frame itself, each encoded by ``model.encode_frame``, ``workers`` at
    a time (each encoding is the same whatever runs beside it: ONNX Runtime and torch release the
    GIL, so a second worker uses a core the encoder's own threads leave idle)."""
    rng = np.random.default_rng((seed, index))
    pairs = augmented_views(rgb, labels, copies, rng)

    def encode(img: np.ndarray) -> FrameFeatures:
        t = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].to(device).float()
        with torch.inference_mode():
            f = model.encode_frame(t)
        return _recast(f, torch.float16)  # stored at half size, used as float32 (fresh)

    if workers > 1 and len(pairs) > 1:
        with ThreadPoolExecutor(min(workers, len(pairs)), thread_name_prefix="vos-adapt-encode") as pool:
            views = list(pool.map(encode, [img for img, _ in pairs]))
    else:
        views = [encode(img) for img, _ in pairs]
    masks = [torch.from_numpy(np.ascontiguousarray(m)) for _, m in pairs]
    return GivenFrame(index=index, views=tuple(views), labels=torch.stack(masks).to(device))


def _window(length: int, size: int, centre: float, align: int) -> tuple[int, int]:
    """(start, size) of a window of at most ``size`` pixels in ``length``, about ``centre``, its
    start a multiple of ``align`` (the whole length when it is no longer than ``size``)."""
    if length <= size:
        return 0, length
    start = int(round((centre - size / 2) / align)) * align
    return max(0, min(start, (length - size) // align * align)), size


def crop_view(
    frame: FrameFeatures, labels: torch.Tensor, size: int, align: int = 16
) -> tuple[FrameFeatures, torch.Tensor]:
    """A stored view and its h×w labels -> the window of at most ``size``×``size`` pixels about its
    objects (``size`` and the window's corner multiples of ``align``, the coarsest feature stride):
    every feature map cut at its own stride (views of the same storage; ``fresh`` copies them),
    the labels cut alike. A view no larger than ``size`` comes back as it is."""
    h, w = frame.image_hw
    if h <= size and w <= size:
        return frame, labels
    ys, xs = torch.nonzero(labels, as_tuple=True)
    cy, cx = (float(ys.float().mean()), float(xs.float().mean())) if ys.numel() else (h / 2, w / 2)
    y0, ch = _window(h, size, cy, align)
    x0, cw = _window(w, size, cx, align)

    def cut(t: torch.Tensor) -> torch.Tensor:
        sy, sx = round(h / t.shape[-2]), round(w / t.shape[-1])
        rows = slice(y0 // sy, (y0 + ch) // sy) if ch < h else slice(None)
        cols = slice(x0 // sx, (x0 + cw) // sx) if cw < w else slice(None)
        return t[..., rows, cols]

    key = cut(frame.key)
    fine = frame.fine_key
    if fine is not None:
        fine = key if fine is frame.key else cut(fine)
    skips = tuple(cut(t) for t in frame.skips)
    out = type(frame)(key=key, fine_key=fine, skips=skips, image_hw=(ch, cw))
    return out, labels[y0 : y0 + ch, x0 : x0 + cw]


def one_hot(labels: torch.Tensor, ids: tuple[int, ...]) -> torch.Tensor:
    """h×w object ids -> O×h×w float masks of ``ids``."""
    return torch.stack([(labels == v) for v in ids]).float()


def class_map(labels: torch.Tensor, ids: tuple[int, ...]) -> torch.Tensor:
    """…×h×w object ids -> class indices (0 = background, i + 1 = ``ids[i]``; unknown ids -> 0)."""
    out = torch.zeros(labels.shape, dtype=torch.long, device=labels.device)
    for i, v in enumerate(ids):
        out[labels == v] = i + 1
    return out
