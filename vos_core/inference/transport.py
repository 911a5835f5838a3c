"""Optical-flow transport of a correction to its neighbours: the corrected frame's mask, carried frame
by frame by OpenCV's DIS optical flow, is blended into the model's probabilities next to it.

The model reads frames at its processing height (384), where thin parts (kite lines, bike wheels)
vanish: the frames right next to a perfect correction scored J 0.63-0.65 on kite-walk. Warped by
flow, the corrected mask keeps those parts for a few frames (kite-walk: J 0.92 one frame away, 0.79
six frames away), but flow fails on fast motion (dog-agility: 0.72 one frame away). So the warped
mask gets a per-pixel trust: its weight next to the correction, decaying per frame, times a
forward-backward check (a pixel whose flow to the previous frame and back does not return within
``tolerance`` pixels loses its trust, and keeps it lost further on).

    transport = FlowTransport(rgb_k, labels_k, object_ids, TransportConfig())
    for rgb in next_frames:                    # k+1, k+2, ... (or k-1, k-2, ...)
        carried = transport.advance(rgb)       # None once config.frames are done
        agg = carried.blend(agg)               # (O+1)×H×W probabilities, background first
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

__all__ = ["Carried", "FlowTransport", "TransportConfig"]

_PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


@dataclass(frozen=True)
class TransportConfig:
    """How far and how strongly a correction is carried by optical flow.

    frames: frames carried on each side of the correction (0: off).
    weight: the carried mask's share of a pixel one frame away (before the consistency check).
    decay: the share is multiplied by this per further frame.
    tolerance: a pixel keeps its trust when its flow to the previous frame and back ends within this
        many pixels of where it started (forward-backward check).
    smooth: the consistency is averaged over a square of this many pixels (thin parts, where the
        flow is smoothed over, take their surroundings' trust; 1 = per pixel).
    agree_low / agree_high: the gate on what the model sees: the model's mean probability of each
        object over that object's carried mask; at or below ``agree_low`` (the model sees nothing
        there: the object left or was hidden) the carried mask gets no share, at or above
        ``agree_high`` its full share, linearly between (the least agreeing object gates the frame).
    preset: DIS preset (``ultrafast``, ``fast``, ``medium``).
    scale: the flow is computed on frames scaled by this factor (≤ 1), then scaled back.
    """

    frames: int = 12
    weight: float = 1.0
    decay: float = 0.95
    tolerance: float = 1.5
    smooth: int = 15
    agree_low: float = 0.2
    agree_high: float = 0.45
    preset: str = "medium"
    scale: float = 1.0

    def __post_init__(self) -> None:
        if self.preset not in _PRESETS:
            raise ValueError(f"unknown DIS preset {self.preset!r}; one of {sorted(_PRESETS)}")
        if self.frames < 0 or not 0.0 <= self.weight <= 1.0 or not 0.0 < self.decay <= 1.0:
            raise ValueError("frames must be >= 0, weight in [0, 1] and decay in (0, 1]")
        if self.tolerance <= 0 or not 0.0 < self.scale <= 1.0 or self.smooth < 1:
            raise ValueError("tolerance must be > 0, scale in (0, 1] and smooth >= 1")
        if not 0.0 <= self.agree_low < self.agree_high <= 1.0:
            raise ValueError("need 0 <= agree_low < agree_high <= 1")


@dataclass(frozen=True)
class Carried:
    """The corrected mask carried to one frame.

    probs: (O+1)×H×W soft one-hot (background first), warped.
    trust: H×W, 0..1: the carried mask's share of each pixel.
    distance: frames from the correction.
    """

    probs: torch.Tensor
    trust: torch.Tensor
    distance: int
    agree_low: float = 0.2
    agree_high: float = 0.45

    def gate(self, agg: torch.Tensor) -> float:
        """0..1: how far the model sees the carried objects (``agree_low`` .. ``agree_high``, see
        :class:`TransportConfig`); objects carried with no pixel are skipped."""
        gate = 1.0
        for slot in range(1, self.probs.shape[0]):
            carried = self.probs[slot] > 0.5
            if bool(carried.any()):
                seen = float(agg[slot][carried].mean())
                gate = min(gate, (seen - self.agree_low) / (self.agree_high - self.agree_low))
        return min(1.0, max(0.0, gate))

    def lift(self, agg: torch.Tensor, object_quality: tuple[float, ...]) -> tuple[float, ...]:
        """The estimated quality of each object (``object_quality``, in slot order) once the carried
        mask is blended into ``agg``: an object whose pixels come by a share ``s`` from the
        correction (the mean of trust · gate over its carried mask) scores ``s + (1 − s) · q``: the
        quality head judges the model's own mask, and a frame rebuilt from a correction must not
        stay ranked worst (the next round would correct the correction's neighbour again)."""
        gate = self.gate(agg)
        lifted = []
        for slot, q in enumerate(object_quality, start=1):
            carried = self.probs[slot] > 0.5 if slot < self.probs.shape[0] else None
            share = float(self.trust[carried].mean()) * gate if carried is not None and carried.any() else 0.0
            lifted.append(share + (1.0 - share) * float(q))
        return tuple(lifted)

    def blend(self, agg: torch.Tensor) -> torch.Tensor:
        """(O+1)×H×W model probabilities at the frame's resolution -> the blend (1 − t) · agg +
        t · carried (same shape), t = trust · :meth:`gate`."""
        if agg.shape != self.probs.shape:
            raise ValueError(f"cannot blend {tuple(self.probs.shape)} into {tuple(agg.shape)}")
        gate = self.gate(agg)
        if gate <= 0.0:
            return agg
        trust = self.trust * gate
        return agg * (1.0 - trust) + self.probs * trust


def _gray(rgb: np.ndarray, scale: float) -> np.ndarray:
    gray = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    if scale != 1.0:
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return gray


class FlowTransport:
    """Carries one frame's labels (H×W, ids ``object_ids``) to the next frames of one direction, one
    :meth:`advance` per frame, in order."""

    def __init__(
        self, rgb: np.ndarray, labels: np.ndarray, object_ids: tuple[int, ...], config: TransportConfig
    ) -> None:
        if rgb.shape[:2] != labels.shape:
            raise ValueError(f"frame {rgb.shape[:2]} and labels {labels.shape} differ in size")
        self.config = config
        self.distance = 0
        self._dis = cv2.DISOpticalFlow_create(_PRESETS[config.preset])
        self._gray = _gray(rgb, config.scale)
        h, w = labels.shape
        self._grid = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        channels = [~np.isin(labels, object_ids)] + [labels == object_id for object_id in object_ids]
        self._soft = [c.astype(np.float32) for c in channels]  # background first
        self._trust = np.ones((h, w), np.float32)

    @property
    def done(self) -> bool:
        return self.distance >= self.config.frames

    def _flow(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """H×W×2 flow from gray ``a`` to gray ``b`` at the labels' resolution: a(x) ≈ b(x + f(x))."""
        flow = self._dis.calc(a, b, None)
        h, w = self._trust.shape
        if flow.shape[:2] != (h, w):
            sy, sx = h / flow.shape[0], w / flow.shape[1]
            flow = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR)
            flow[..., 0] *= sx
            flow[..., 1] *= sy
        return flow

    def advance(self, rgb: np.ndarray) -> Carried | None:
        """The next frame (H×W×3 RGB) -> the mask carried to it, or None when ``config.frames`` are
        done (nothing is computed then)."""
        if self.done:
            return None
        gray = _gray(rgb, self.config.scale)
        back = self._flow(gray, self._gray)  # this frame -> the previous one
        ahead = self._flow(self._gray, gray)  # the previous frame -> this one
        gx, gy = self._grid
        mx, my = gx + back[..., 0], gy + back[..., 1]

        def warp(img: np.ndarray, border: int = cv2.BORDER_REPLICATE) -> np.ndarray:
            return cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=border)

        returned = warp(ahead)
        error = np.hypot(back[..., 0] + returned[..., 0], back[..., 1] + returned[..., 1])
        consistent = (error <= self.config.tolerance).astype(np.float32)
        if self.config.smooth > 1:
            consistent = cv2.blur(consistent, (self.config.smooth, self.config.smooth))
        self._soft = [warp(c) for c in self._soft]
        self._trust = warp(self._trust, cv2.BORDER_CONSTANT) * consistent
        self._gray = gray
        self.distance += 1
        share = self.config.weight * self.config.decay ** (self.distance - 1)
        probs = torch.from_numpy(np.stack(self._soft))
        cfg = self.config
        trust = torch.from_numpy(self._trust * share)
        return Carried(probs, trust, self.distance, cfg.agree_low, cfg.agree_high)
