"""Training samples for per-video adaptation: augmented copies of a given frame and its mask.

A given mask is turned into ``copies`` views of the same object, as the video may show it later
(a random affine motion per copy, a little colour change), each encoded ONCE by the model's own
frame encoder (gradient-free: ONNX Runtime on the CPU). Every adaptation step then reuses these
cached features, so a step costs only the heads it trains.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from vos_core.models.base import FrameFeatures, VosModel


@dataclass(frozen=True)
class GivenFrame:
    """One given mask's training data at the processing resolution (h×w).

    index: the frame; views: the encoded copies (view 0 is the frame itself, unwarped);
    labels: V×h×w int64 object ids of the views (0 = background).
    """

    index: int
    views: tuple[FrameFeatures, ...]
    labels: torch.Tensor

    @property
    def hw(self) -> tuple[int, int]:
        return self.views[0].image_hw


def fresh(frame: FrameFeatures) -> FrameFeatures:
    """The same features in a new object of the same type (an architecture's per-frame scratch
    ``stash``, if it has one, starts empty: each training step reads the frame anew)."""
    return type(frame)(key=frame.key, fine_key=frame.fine_key, skips=frame.skips, image_hw=frame.image_hw)


def _plain(frame: FrameFeatures) -> FrameFeatures:
    """Inference-mode tensors -> ordinary tensors that autograd graphs may save."""
    fine = None if frame.fine_key is None else frame.fine_key.clone()
    return type(frame)(
        key=frame.key.clone(), fine_key=fine, skips=tuple(s.clone() for s in frame.skips),
        image_hw=frame.image_hw,
    )


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
) -> GivenFrame:
    """A given frame (h×w×3 uint8) and its h×w labels, both at the processing size -> ``copies``
    augmented copies and the frame itself, each encoded by ``model.encode_frame``."""
    rng = np.random.default_rng((seed, index))
    views, masks = [], []
    for img, m in augmented_views(rgb, labels, copies, rng):
        t = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].to(device).float()
        with torch.inference_mode():
            f = model.encode_frame(t)
        views.append(_plain(f))
        masks.append(torch.from_numpy(m.astype(np.int64)))
    return GivenFrame(index=index, views=tuple(views), labels=torch.stack(masks).to(device))


def one_hot(labels: torch.Tensor, ids: tuple[int, ...]) -> torch.Tensor:
    """h×w object ids -> O×h×w float masks of ``ids``."""
    return torch.stack([(labels == v) for v in ids]).float()


def class_map(labels: torch.Tensor, ids: tuple[int, ...]) -> torch.Tensor:
    """…×h×w object ids -> class indices (0 = background, i + 1 = ``ids[i]``; unknown ids -> 0)."""
    out = torch.zeros_like(labels)
    for i, v in enumerate(ids):
        out[labels == v] = i + 1
    return out
