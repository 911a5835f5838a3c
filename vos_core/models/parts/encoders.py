"""Learned encoders on top of the backbone: key projection, mask/value encoders.

Shapes: O objects, H×W processing resolution, h×w the stride-16 grid, s4/s8/s16 the encoder features
(each 1×C×h'×w'), C_k key channels, C_v value channels.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from vos_core.models.parts.blocks import (
    ResBlock,
    check_channels,
    check_widths,
    conv1x1,
    conv3x3,
    pool_masks,
)


class KeyProjection(nn.Module):
    """1×1 conv from the encoder's stride-16 features to C_k keys: B×C_16×h×w -> B×C_k×h×w."""

    def __init__(self, in_channels: int, key_dim: int = 64) -> None:
        super().__init__()
        self.in_channels, self.key_dim = check_widths("KeyProjection", (in_channels, key_dim))
        self.proj = conv1x1(in_channels, key_dim)
        nn.init.orthogonal_(self.proj.weight.view(key_dim, in_channels))
        nn.init.zeros_(self.proj.bias)

    def forward(self, s16: torch.Tensor) -> torch.Tensor:
        check_channels("KeyProjection", s16, self.in_channels)
        return self.proj(s16)


def object_masks(probs: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    """O×H×W probabilities -> O×2×h×w: each object's mask and the sum of the *other* objects' masks."""
    own = pool_masks(probs, hw)
    others = own.sum(dim=0, keepdim=True) - own
    return torch.cat([own, others], dim=1)


class MaskValueEncoder(nn.Module):
    """Per-object values from encoder frame features and masks (a light STCN value encoder).

    Each object's mask and the other objects' mask sum (2 channels, area-pooled to stride 4) are
    concatenated with s4; two stride-2 conv stages mix in s8 and s16; a residual block and a 1×1
    projection give C_v values.

    skips: (s4, s8, s16) each 1×C×h'×w'; probs: O×H×W -> O×C_v×h16×w16.
    """

    def __init__(
        self,
        feature_channels: Sequence[int],
        value_dim: int = 128,
        hidden: Sequence[int] = (32, 64, 64),
    ) -> None:
        super().__init__()
        c4, c8, c16 = check_widths("MaskValueEncoder features", feature_channels, 3)
        h4, h8, h16 = check_widths("MaskValueEncoder hidden", hidden, 3)
        (self.value_dim,) = check_widths("MaskValueEncoder value_dim", (value_dim,))
        self.feature_channels = (c4, c8, c16)
        self.stage4 = conv3x3(c4 + 2, h4, stride=2)
        self.stage8 = conv3x3(h4 + c8, h8, stride=2)
        self.fuse16 = conv1x1(h8 + c16, h16)
        self.block = ResBlock(h16, h16)
        self.out = conv1x1(h16, value_dim)

    def forward(self, skips: Sequence[torch.Tensor], probs: torch.Tensor) -> torch.Tensor:
        s4, s8, s16 = skips[0], skips[1], skips[2]
        for name, t, c in zip(("s4", "s8", "s16"), (s4, s8, s16), self.feature_channels, strict=True):
            check_channels(f"MaskValueEncoder {name}", t, c)
        o = probs.shape[0]
        masks = object_masks(probs, tuple(s4.shape[-2:]))  # O×2×h4×w4
        x = torch.cat([s4.expand(o, -1, -1, -1), masks], dim=1)
        x = F.relu(self.stage4(x))
        x = _match(x, s8)
        x = F.relu(self.stage8(torch.cat([x, s8.expand(o, -1, -1, -1)], dim=1)))
        x = _match(x, s16)
        x = self.fuse16(torch.cat([x, s16.expand(o, -1, -1, -1)], dim=1))
        return self.out(F.relu(self.block(x)))


class MaskEncoder(nn.Module):
    """Light mask-only encoder (SITVOS' mask branch): O×H×W masks -> O×C×h16×w16.

    ``in_masks`` = 1 takes each object's mask; 2 adds the other objects' mask sum.
    """

    def __init__(self, out_dim: int, in_masks: int = 1, hidden: Sequence[int] = (16, 32, 64)) -> None:
        super().__init__()
        if in_masks not in (1, 2):
            raise ValueError("MaskEncoder takes 1 or 2 mask channels")
        self.in_masks = in_masks
        h1, h2, h3 = check_widths("MaskEncoder hidden", hidden, 3)
        check_widths("MaskEncoder out_dim", (out_dim,))
        self.net = nn.Sequential(
            conv3x3(in_masks, h1), nn.ReLU(),
            conv3x3(h1, h2, stride=2), nn.ReLU(),
            conv3x3(h2, h3, stride=2), nn.ReLU(),
            conv1x1(h3, out_dim),
        )

    def forward(self, probs: torch.Tensor, hw16: tuple[int, int]) -> torch.Tensor:
        """probs: O×H×W; hw16: the stride-16 grid to produce."""
        hw4 = (hw16[0] * 4, hw16[1] * 4)
        masks = object_masks(probs, hw4)[:, : self.in_masks]
        return _match(self.net(masks), torch.empty(0, 0, *hw16))


def _match(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Crop/pad x's grid to ref's (they differ by at most a pixel with odd sizes)."""
    hw = tuple(ref.shape[-2:])
    if tuple(x.shape[-2:]) == hw:
        return x
    return F.interpolate(x, size=hw, mode="bilinear", align_corners=False)
