"""Plain-torch bilinear warping and modulated deformable convolution (DCNv2) via ``grid_sample``."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from vos_core.models.parts.blocks import check_channels


def base_grid(hw: tuple[int, int], device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """h×w×2 pixel coordinates (x, y) of a regular grid."""
    h, w = hw
    ys = torch.arange(h, device=device, dtype=dtype)
    xs = torch.arange(w, device=device, dtype=dtype)
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([xx, yy], dim=-1)


def sample_at(x: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """Bilinear sampling, zero outside. x: B×C×h×w, coords: B×H'×W'×2 pixel (x, y) -> B×C×H'×W'."""
    h, w = x.shape[-2:]
    gx = coords[..., 0] * (2.0 / max(w - 1, 1)) - 1.0
    gy = coords[..., 1] * (2.0 / max(h - 1, 1)) - 1.0
    grid = torch.stack([gx, gy], dim=-1)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def flow_warp(x: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sample x at each grid point shifted by ``flow`` (pixels; channel 0 = dx, 1 = dy).

    x: B×C×h×w, flow: B×2×h×w (B may be 1 and broadcast) -> B×C×h×w.
    """
    check_channels("flow_warp flow", flow, 2)
    b = x.shape[0]
    grid = base_grid(tuple(x.shape[-2:]), x.device, x.dtype)[None] + flow.permute(0, 2, 3, 1)
    return sample_at(x, grid.expand(b, -1, -1, -1))


class ModulatedDeformConv2d(nn.Module):
    """Modulated deformable convolution (DCNv2): tap k of the k×k kernel reads x at
    ``p + p_k + Δp_k`` by bilinear sampling and is scaled by ``m_k`` before the weights apply.

    x: B×C_in×h×w, offset: B×2k²×h×w (per tap: dy, dx in pixels, torchvision's order),
    mask: B×k²×h×w in [0, 1] -> B×C_out×h×w. With zero offsets and unit masks it is a plain
    k×k convolution with ``k // 2`` padding.
    """

    def __init__(self, cin: int, cout: int, kernel: int = 3) -> None:
        super().__init__()
        self.cin, self.cout, self.kernel = cin, cout, kernel
        self.weight = nn.Parameter(torch.empty(cout, cin, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(cout))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))

    def forward(self, x: torch.Tensor, offset: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        k2 = self.kernel * self.kernel
        check_channels("ModulatedDeformConv2d input", x, self.cin)
        check_channels("ModulatedDeformConv2d offset", offset, 2 * k2)
        check_channels("ModulatedDeformConv2d mask", mask, k2)
        b, c, h, w = x.shape
        r = self.kernel // 2
        grid = base_grid((h, w), x.device, x.dtype)  # h×w×2 (x, y)
        taps = []
        for i in range(self.kernel):
            for j in range(self.kernel):
                t = i * self.kernel + j
                dy = offset[:, 2 * t] + (i - r)
                dx = offset[:, 2 * t + 1] + (j - r)
                coords = grid[None] + torch.stack([dx, dy], dim=-1)
                taps.append(sample_at(x, coords) * mask[:, t : t + 1])
        cols = torch.stack(taps, dim=2)  # B×C×k²×h×w
        out = torch.einsum("bckhw,ock->bohw", cols, self.weight.view(self.cout, c, k2))
        return out + self.bias[None, :, None, None]
