"""Training-free propagation: label propagation on pretrained EfficientNet-Lite features.

Keys are L2-normalised ImageNet features (stride 8 and 16 combined); values are the object masks
themselves, so the readout *is* the prediction. It needs no VOS weights and runs out of the box.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vos_core.config import ReadoutConfig
from vos_core.memory.bank import MemoryView
from vos_core.memory.entries import MemoryFeatures
from vos_core.models.archs.key_basis import combined_keys, load_basis
from vos_core.models.base import FrameFeatures, RecentFrames, VosModel
from vos_core.models.encoders.runner import FrozenEncoder
from vos_core.models.readout import ReadoutResult, fused_readout, global_topk


def background_pruning(coarse_value: torch.Tensor, margin: int = 3, stride: int = 2) -> torch.Tensor:
    """Coarse pixels a bank entry keeps: all within ``margin`` pixels of any object, and a regular
    1-in-``stride``² sample of the far background (which is redundant for matching).

    coarse_value: O×h×w -> 1-D indices into h·w.
    """
    h, w = coarse_value.shape[-2:]
    near = coarse_value.amax(dim=0, keepdim=True)[None] > 0.01 if coarse_value.shape[0] else None
    grid = torch.zeros(h, w, dtype=torch.bool, device=coarse_value.device)
    grid[::stride, ::stride] = True
    if near is not None:
        near = F.max_pool2d(near.float(), 2 * margin + 1, stride=1, padding=margin)[0, 0] > 0
        grid |= near
    return grid.flatten().nonzero().squeeze(1)


class LabelPropagation(VosModel):
    """The engine's untrained model: readout of mask values by feature affinity."""

    name = "propagation"
    trained = False
    exclusive = True

    def __init__(self, encoder: FrozenEncoder, prune: bool = True, project: bool = True) -> None:
        super().__init__()
        self.encoder = encoder
        self.prune = prune
        self.basis: torch.Tensor | None
        self.register_buffer("basis", load_basis() if project else None, persistent=False)

    def _project(self, keys: torch.Tensor) -> torch.Tensor:
        """C×h×w unit keys -> D×h×w unit keys in the shipped low-dimensional basis."""
        if self.basis is None:
            return keys
        c, h, w = keys.shape
        return F.normalize(self.basis @ keys.reshape(c, -1), dim=0).reshape(-1, h, w)

    def encode_frame(self, rgb: torch.Tensor) -> FrameFeatures:
        coarse, fine = combined_keys(self.encoder(rgb))
        coarse, fine = self._project(coarse), self._project(fine)
        return FrameFeatures(coarse, fine, (), (int(rgb.shape[2]), int(rgb.shape[3])))

    def encode_memory(self, frame: FrameFeatures, probs: torch.Tensor) -> MemoryFeatures:
        assert frame.fine_key is not None
        fine_hw = tuple(frame.fine_key.shape[-2:])
        coarse_hw = tuple(frame.key.shape[-2:])
        p = probs.float()[None]
        fine_v = F.adaptive_avg_pool2d(p, fine_hw)[0]
        coarse_v = F.adaptive_avg_pool2d(fine_v[None], coarse_hw)[0]
        key, value = frame.key.flatten(1), coarse_v.flatten(1)[:, None]
        hw: tuple[int, int] | None = coarse_hw  # type: ignore[assignment]
        if self.prune:
            keep = background_pruning(coarse_v)
            key, value, hw = key[:, keep], value[:, :, keep], None
        return MemoryFeatures(
            key=key.contiguous(),
            value=value.contiguous(),
            hw=hw,
            fine_key=frame.fine_key.flatten(1),
            fine_value=fine_v.flatten(1)[:, None],
            fine_hw=fine_hw,  # type: ignore[arg-type]
        )

    def read_memory(
        self, frame: FrameFeatures, bank: MemoryView | None, recent: RecentFrames, config: ReadoutConfig
    ) -> ReadoutResult:
        assert frame.fine_key is not None
        c, h, w = frame.fine_key.shape
        matches = None
        if bank is not None:
            matches = global_topk(frame.key.flatten(1), bank.key, bank.value, config.top_k)
        keys, values = [], []
        for r in recent:
            if r.fine_key is None or r.fine_value is None or r.fine_hw != (h, w):
                continue
            keys.append(r.fine_key.view(c, h, w))
            values.append(r.fine_value.view(r.fine_value.shape[0], -1, h, w))
        return fused_readout(
            frame.fine_key, keys, values, matches, tuple(frame.key.shape[-2:]),  # type: ignore[arg-type]
            bank.size if bank is not None else 0, config.top_k, config.temperature,
            config.local_radius,
        )

    def decode(self, frame: FrameFeatures, readout: ReadoutResult) -> torch.Tensor:
        v = readout.value[:, 0]  # O×H_f×W_f
        up = F.interpolate(v[None], size=frame.image_hw, mode="bilinear", align_corners=False)[0]
        return up.clamp_(0.0, 1.0)
