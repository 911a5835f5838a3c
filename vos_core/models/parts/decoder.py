"""STM/STCN-style refinement decoder: stride-16 features + s8/s4 skips -> per-object logits."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from vos_core.models.parts.blocks import ResBlock, check_channels, check_widths, conv1x1, conv3x3


class UpsampleBlock(nn.Module):
    """×2 upsampling with a skip connection: the skip is projected (1×1) to the running channels, the
    upsampled input added, then a residual block changes channels.

    x: O×C_in×h×w, skip: 1×C_skip×2h×2w (shared by all objects) -> O×C_out×2h×2w.
    """

    def __init__(self, skip_channels: int, cin: int, cout: int) -> None:
        super().__init__()
        self.skip_channels, self.cin = skip_channels, cin
        self.skip = conv1x1(skip_channels, cin)
        self.block = ResBlock(cin, cout)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        check_channels("UpsampleBlock input", x, self.cin)
        check_channels("UpsampleBlock skip", skip, self.skip_channels)
        up = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.block(up + self.skip(skip))


class RefinementDecoder(nn.Module):
    """Compress the stride-16 input, refine with s8 and s4 skips, predict one logit per object.

    x: O×C_in×h16×w16, s8: 1×C_8×h8×w8, s4: 1×C_4×h4×w4 -> O×1×h4×w4 logits (stride 4).
    :meth:`to_image` upsamples them to the processing resolution.
    """

    def __init__(
        self, in_channels: int, skip_channels: Sequence[int], channels: Sequence[int] = (96, 48, 32)
    ) -> None:
        super().__init__()
        c4_skip, c8_skip = check_widths("RefinementDecoder skips (s4, s8)", skip_channels, 2)
        c16, c8, c4 = check_widths("RefinementDecoder widths (s16, s8, s4)", channels, 3)
        (self.in_channels,) = check_widths("RefinementDecoder input", (in_channels,))
        self.compress = nn.Sequential(conv1x1(in_channels, c16), nn.ReLU(), ResBlock(c16, c16))
        self.up8 = UpsampleBlock(c8_skip, c16, c8)
        self.up4 = UpsampleBlock(c4_skip, c8, c4)
        self.pred = conv3x3(c4, 1)

    def forward(self, x: torch.Tensor, s8: torch.Tensor, s4: torch.Tensor) -> torch.Tensor:
        check_channels("RefinementDecoder input", x, self.in_channels)
        y = self.compress(x)
        y = self.up8(y, s8)
        y = self.up4(y, s4)
        return self.pred(F.relu(y))

    @staticmethod
    def to_image(logits: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
        """O×1×h4×w4 -> O×H×W logits by bilinear interpolation."""
        return F.interpolate(logits, size=hw, mode="bilinear", align_corners=False)[:, 0]
