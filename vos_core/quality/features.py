"""Per-object statistics of one predicted frame, the input of the quality head.

:class:`QualityFeatures` follows a session's frames: a given mask becomes the object's reference
(its area and its key prototypes, foreground and background); each predicted frame is described,
per object, by what the probabilities say about the mask (area against the reference and the
previous frame, overlap with the previous mask, boundary uncertainty, fragmentation, contact with
the image border) and by how well its pixels' keys agree with the reference's prototypes (a
nearest-prototype classifier built on the reference, compared with the predicted mask).

Masks are looked at on a grid of at most about :data:`GRID_ROWS` rows (every ``step``-th pixel of
the processing resolution) and keys at their coarse grid, so one frame costs a few milliseconds on
the CPU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import torch
import torch.nn.functional as F

from vos_core.data.box import mask_box

#: the features, in the order of the head's input columns
FEATURE_NAMES: tuple[str, ...] = (
    "log_area",  # log of the mask's share of the image
    "empty",  # 1 when the mask (almost) vanished
    "log_area_vs_ref",  # log(area / reference area)
    "log_area_vs_prev",  # log(area / previous frame's area)
    "iou_prev",  # IoU with the previous frame's mask
    "centroid_shift",  # centroid motion since the previous frame / sqrt(area)
    "p_inside",  # mean probability inside the mask
    "uncertain_ratio",  # pixels with 0.2 < p < 0.8 per mask pixel
    "largest_component",  # share of the mask in its largest connected component
    "log_components",  # log(1 + number of components)
    "bbox_fill",  # mask area / bounding-box area
    "border_touch",  # share of the mask's bounding box on the image border
    "recent_share",  # readout weight on the recent frames (frame-level)
    "log_since_ref",  # log(1 + frames since the reference mask)
    "frame_confidence",  # the old confidence: mean winning probability near objects
    "proto_fg_vs_ref",  # cosine(foreground prototype, reference foreground prototype)
    "proto_fg_vs_ref_bg",  # cosine(foreground prototype, reference background prototype)
    "proto_fg_vs_prev",  # cosine(foreground prototype, previous frame's foreground prototype)
    "key_agreement",  # IoU(mask, pixels whose key is nearer the reference fg than bg prototype)
    "key_margin_in",  # mean (sim fg - sim bg) to the reference prototypes inside the mask
    "key_margin_out",  # the same outside the mask
)
N_FEATURES = len(FEATURE_NAMES)
EPS = 1e-4
#: masks are subsampled to at most about this many rows
GRID_ROWS = 96


def subsample(x: torch.Tensor) -> torch.Tensor:
    """C×H×W -> C×h×w, every ``step``-th pixel with ``step = max(1, H // GRID_ROWS)``."""
    step = max(1, x.shape[-2] // GRID_ROWS)
    return x[:, ::step, ::step].float().cpu().contiguous()


def winners(agg: torch.Tensor) -> torch.Tensor:
    """(O+1)×H×W -> H×W index of the largest channel (a running maximum: faster than argmax)."""
    best = agg[0].clone()
    index = torch.zeros(agg.shape[1:], dtype=torch.long, device=agg.device)
    for slot in range(1, agg.shape[0]):
        better = agg[slot] > best
        index[better] = slot
        best = torch.maximum(best, agg[slot])
    return index


@dataclass
class _ObjectState:
    """What the features of one object compare with: its reference and its previous frame."""

    ref_index: int
    ref_area: float
    ref_fg: torch.Tensor | None  # C_k reference foreground prototype (unit), None when absent
    ref_bg: torch.Tensor | None
    prev_mask: torch.Tensor | None = None  # h×w bool on the subsampled grid
    prev_area: float = 0.0
    prev_centroid: tuple[float, float] = (0.5, 0.5)
    prev_fg: torch.Tensor | None = None


def _unit_keys(key: torch.Tensor) -> torch.Tensor:
    """C×h×w keys -> C×(h·w) float keys of unit length per pixel."""
    return F.normalize(key.float().flatten(1), dim=0)


def _prototypes(keys: torch.Tensor, weight: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """keys: C×N unit keys, weight: N soft mask -> unit (foreground, background) prototypes
    (None for a side with no weight)."""
    fg_w, bg_w = weight, 1.0 - weight
    fg = F.normalize(keys @ fg_w, dim=0) if float(fg_w.sum()) > 0.5 else None
    bg = F.normalize(keys @ bg_w, dim=0) if float(bg_w.sum()) > 0.5 else None
    return fg, bg


def _coarse(mask: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    """H×W mask -> (h·w) soft mask on the key grid (area average)."""
    return F.adaptive_avg_pool2d(mask.float()[None, None], hw).flatten()


def _cos(a: torch.Tensor | None, b: torch.Tensor | None) -> float:
    return 0.0 if a is None or b is None else float(a @ b)


def _centroid(mask: torch.Tensor) -> tuple[float, float]:
    """Normalised (y, x) centroid of an H×W bool mask ((0.5, 0.5) when empty)."""
    ys, xs = torch.nonzero(mask, as_tuple=True)
    if ys.numel() == 0:
        return 0.5, 0.5
    h, w = mask.shape
    return float(ys.float().mean()) / h, float(xs.float().mean()) / w


def _shape_stats(mask: torch.Tensor) -> tuple[float, float, float, float]:
    """-> (largest component share, log(1 + components), bbox fill, border touch) of an H×W mask."""
    m = mask.to(torch.uint8).numpy()
    n, _, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    if areas.size == 0:
        return 0.0, 0.0, 0.0, 0.0
    total = float(areas.sum())
    y0, x0, y_end, x_end = mask_box(m)  # type: ignore[misc]  # not empty: it has components
    y1, x1 = y_end - 1, x_end - 1
    fill = total / float((y1 - y0 + 1) * (x1 - x0 + 1))
    h, w = m.shape
    border = (y0 == 0) + (y1 == h - 1) + (x0 == 0) + (x1 == w - 1)
    return float(areas.max()) / total, math.log1p(n - 1), fill, border / 4.0


class QualityFeatures:
    """Follows one session's frames and describes each predicted object mask (see the module)."""

    def __init__(self) -> None:
        self._objects: dict[int, _ObjectState] = {}

    def reset(self) -> None:
        """Forget every reference (reseed, memory reset without permanent entries)."""
        self._objects.clear()

    def drop(self, object_id: int) -> None:
        self._objects.pop(object_id, None)

    def given(self, index: int, key: torch.Tensor, probs: torch.Tensor, ids: tuple[int, ...]) -> None:
        """A given mask: it becomes the reference of every object.

        key: C_k×h×w coarse keys; probs: O×H×W one-hot object masks at the processing resolution.
        """
        keys = _unit_keys(key.cpu())
        grid = (key.shape[-2], key.shape[-1])
        probs = subsample(probs)
        for slot, object_id in enumerate(ids):
            mask = probs[slot] > 0.5
            fg, bg = _prototypes(keys, _coarse(mask, grid))
            area = float(mask.float().mean())
            self._objects[object_id] = _ObjectState(
                index, area, fg, bg, mask.cpu(), area, _centroid(mask.cpu()), fg
            )

    def predicted(
        self,
        index: int,
        key: torch.Tensor,
        agg: torch.Tensor,
        ids: tuple[int, ...],
        recent_share: float,
    ) -> torch.Tensor:
        """Describe a predicted frame -> O×N_FEATURES (rows in the order of ``ids``).

        key: C_k×h×w coarse keys; agg: (O+1)×H×W aggregated probabilities, background first.
        """
        agg = subsample(agg)
        keys = _unit_keys(key.cpu())
        grid = (key.shape[-2], key.shape[-1])
        winner = winners(agg)
        active = agg[1:].amax(dim=0) > 0.1
        n_active = int(active.sum())
        frame_conf = float((agg.amax(dim=0) * active).sum()) / n_active if n_active else 1.0
        rows = []
        for slot, object_id in enumerate(ids, start=1):
            state = self._objects.get(object_id)
            if state is None:  # an object with no reference yet: compare with nothing
                state = _ObjectState(index, 0.0, None, None)
                self._objects[object_id] = state
            p = agg[slot]
            mask = winner == slot
            n = int(mask.sum())
            area = n / mask.numel()
            coarse = _coarse(mask, grid)
            fg, _ = _prototypes(keys, coarse)
            if state.ref_fg is not None and state.ref_bg is not None:
                margin = state.ref_fg @ keys - state.ref_bg @ keys  # N
                key_mask = margin > 0
                hard = coarse > 0.5
                union = int((key_mask | hard).sum())
                agreement = int((key_mask & hard).sum()) / union if union else 1.0
                w_in = float(coarse.sum())
                m_in = float(margin @ coarse) / w_in if w_in > 0 else 0.0
                w_out = float((1 - coarse).sum())
                m_out = float(margin @ (1 - coarse)) / w_out if w_out > 0 else 0.0
            else:
                agreement, m_in, m_out = 0.0, 0.0, 0.0
            if state.prev_mask is not None and state.prev_mask.shape == mask.shape:
                union = int((mask | state.prev_mask).sum())
                iou_prev = int((mask & state.prev_mask).sum()) / union if union else 1.0
            else:
                iou_prev = 1.0
            cy, cx = _centroid(mask)
            shift = math.hypot(cy - state.prev_centroid[0], cx - state.prev_centroid[1])
            shift /= math.sqrt(max(area, state.prev_area, EPS))
            uncertain = int(((p > 0.2) & (p < 0.8)).sum()) / max(n, 1)
            largest, comps, fill, border = _shape_stats(mask)
            rows.append(
                [
                    math.log(area + EPS),
                    float(area < EPS),
                    math.log((area + EPS) / (state.ref_area + EPS)),
                    math.log((area + EPS) / (state.prev_area + EPS)),
                    iou_prev,
                    min(shift, 5.0),
                    float(p[mask].mean()) if n else 0.0,
                    min(uncertain, 5.0),
                    largest,
                    comps,
                    fill,
                    border,
                    float(recent_share),
                    math.log1p(abs(index - state.ref_index)),
                    frame_conf,
                    _cos(fg, state.ref_fg),
                    _cos(fg, state.ref_bg),
                    _cos(fg, state.prev_fg),
                    agreement,
                    m_in,
                    m_out,
                ]
            )
            state.prev_mask, state.prev_area, state.prev_centroid = mask, area, (cy, cx)
            state.prev_fg = fg if fg is not None else state.prev_fg
        return torch.tensor(rows, dtype=torch.float32, device="cpu").reshape(len(ids), N_FEATURES)
