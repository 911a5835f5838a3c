"""Object registry and mask conversions between label maps and per-object probabilities."""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F


class ObjectRegistry:
    """Maps stable object ids (label values 1..255) to tensor slots (0..O-1), in order of arrival."""

    def __init__(self) -> None:
        self._ids: list[int] = []

    @property
    def ids(self) -> tuple[int, ...]:
        return tuple(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, object_id: int) -> bool:
        return object_id in self._ids

    def slot(self, object_id: int) -> int:
        return self._ids.index(object_id)

    def add(self, object_id: int) -> bool:
        """Register an id; returns True when it is new."""
        if not 1 <= object_id <= 255:
            raise ValueError(f"object ids must be 1..255, got {object_id}")
        if object_id in self._ids:
            return False
        self._ids.append(object_id)
        return True

    def remove(self, object_id: int) -> int:
        """Unregister an id; returns the slot it had."""
        slot = self.slot(object_id)
        self._ids.pop(slot)
        return slot

    def clear(self) -> None:
        self._ids.clear()


def resize_labels(labels: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """H×W label map -> hw by nearest neighbour (labels are never blended)."""
    if labels.shape == hw:
        return labels
    return cv2.resize(labels, (hw[1], hw[0]), interpolation=cv2.INTER_NEAREST)


def labels_to_probs(labels: np.ndarray, ids: tuple[int, ...]) -> torch.Tensor:
    """H×W labels -> O×H×W float one-hot of the given object ids."""
    lab = torch.from_numpy(np.ascontiguousarray(labels))
    if not ids:
        return torch.zeros((0, *labels.shape))
    return torch.stack([(lab == i) for i in ids]).float()


def soft_aggregate(probs: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Multi-object soft aggregation (as in STM): O×H×W independent object probabilities ->
    (O+1)×H×W probabilities that sum to one, background first."""
    p = probs.clamp(eps, 1 - eps)
    bg = torch.prod(1 - p, dim=0, keepdim=True)
    allp = torch.cat([bg, p]).clamp(eps, 1 - eps)
    logits = torch.log(allp / (1 - allp))
    return torch.softmax(logits, dim=0)


def aggregate(probs: torch.Tensor, exclusive: bool) -> torch.Tensor:
    """O×H×W object probabilities -> (O+1)×H×W with background first. ``exclusive`` models already
    share each pixel among objects (Σ ≤ 1): background is the remainder; others are soft-aggregated."""
    if not exclusive:
        return soft_aggregate(probs)
    bg = (1.0 - probs.sum(dim=0, keepdim=True)).clamp_(min=0.0)
    return torch.cat([bg, probs])


def upsample_to(agg: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    """(O+1)×h×w probabilities -> (O+1)×H×W by bilinear interpolation."""
    if tuple(agg.shape[-2:]) == hw:
        return agg
    return F.interpolate(agg[None], size=hw, mode="bilinear", align_corners=False)[0]


def probs_to_labels(agg: torch.Tensor, ids: tuple[int, ...]) -> np.ndarray:
    """(O+1)×H×W aggregated probabilities -> H×W uint8 labels (argmax, slot -> id)."""
    # a running maximum over the few channels is much faster than argmax over dim 0 on the CPU
    best = agg[0].clone()
    labels = torch.zeros(agg.shape[1:], dtype=torch.uint8, device=agg.device)
    for slot, object_id in enumerate(ids, start=1):
        better = agg[slot] > best
        labels[better] = object_id
        best = torch.maximum(best, agg[slot])
    return labels.cpu().numpy()


def confidence(agg: torch.Tensor, threshold: float = 0.1) -> float:
    """Mean winning probability over pixels where some object has probability > threshold."""
    if agg.shape[0] <= 1:
        return 1.0
    active = agg[1:].amax(dim=0) > threshold
    count = active.sum()
    mean = (agg.amax(dim=0) * active).sum() / count.clamp(min=1)
    return float(torch.where(count > 0, mean, 1.0))  # one transfer
