"""Small convolutional building blocks shared by the trained architectures.

Every block checks the channel count of its input and raises a ``ValueError`` naming the block.
Shapes: B batch (often O objects), C channels, h×w spatial grid.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def check_channels(where: str, x: torch.Tensor, expected: int, dim: int = 1) -> None:
    """Raise a clear ``ValueError`` when ``x.shape[dim] != expected``."""
    if x.dim() <= dim or x.shape[dim] != expected:
        raise ValueError(
            f"{where}: expected {expected} channels along dim {dim}, got tensor of shape {tuple(x.shape)}"
        )


def check_widths(where: str, values: Sequence[int], count: int | None = None) -> tuple[int, ...]:
    """Validate channel widths given when a part is built: ``count`` of them, all positive ints."""
    widths = tuple(values)
    if count is not None and len(widths) != count:
        raise ValueError(f"{where}: expected {count} channel widths, got {len(widths)}: {widths}")
    if not all(isinstance(v, int) and v > 0 for v in widths):
        raise ValueError(f"{where}: channel widths must be positive integers, got {widths}")
    return widths


def conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1)


def conv1x1(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 1)


class Conv1x1(nn.Module):
    """Checked 1×1 projection: B×C_in×h×w -> B×C_out×h×w."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.cin, self.cout = check_widths("Conv1x1", (cin, cout))
        self.conv = conv1x1(cin, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_channels(type(self).__name__, x, self.cin)
        return self.conv(x)


class ResBlock(nn.Module):
    """Residual block: two 3×3 convs with ReLU; a 1×1 conv matches channels when they change.

    B×C_in×h×w -> B×C_out×h×w.
    """

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.cin, self.cout = check_widths("ResBlock", (cin, cout))
        self.conv1 = conv3x3(cin, cout)
        self.conv2 = conv3x3(cout, cout)
        self.skip = conv1x1(cin, cout) if cin != cout else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_channels("ResBlock", x, self.cin)
        y = self.conv1(F.relu(x))
        y = self.conv2(F.relu(y))
        return y + (self.skip(x) if self.skip is not None else x)


class ChannelGate(nn.Module):
    """Squeeze-excitation channel attention (avg- and max-pooled MLP, as in CBAM).

    B×C×h×w -> B×C×h×w (rescaled channels).
    """

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        self.channels = channels
        hidden = max(4, channels // reduction)
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_channels("ChannelGate", x, self.channels)
        gate = self.mlp(x.mean(dim=(2, 3))) + self.mlp(x.amax(dim=(2, 3)))
        return x * torch.sigmoid(gate)[:, :, None, None]


class SpatialGate(nn.Module):
    """CBAM spatial attention: a 7×7 conv over channel mean and max. B×C×h×w -> B×C×h×w."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, 7, padding=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.conv(pooled))


class CBAM(nn.Module):
    """Channel then spatial attention. B×C×h×w -> B×C×h×w."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channel = ChannelGate(channels)
        self.spatial = SpatialGate()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.spatial(self.channel(x))


class SeparableConv(nn.Module):
    """Depthwise k×k conv followed by a pointwise 1×1 conv. B×C_in×h×w -> B×C_out×h×w."""

    def __init__(self, cin: int, cout: int, kernel: int = 3) -> None:
        super().__init__()
        self.cin = cin
        self.depthwise = nn.Conv2d(cin, cin, kernel, padding=kernel // 2, groups=cin)
        self.pointwise = conv1x1(cin, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_channels("SeparableConv", x, self.cin)
        return self.pointwise(F.relu(self.depthwise(x)))


def resize_to(x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    """B×C×h×w -> B×C×H×W by bilinear interpolation (no-op when already that size)."""
    if tuple(x.shape[-2:]) == tuple(hw):
        return x
    return F.interpolate(x, size=hw, mode="bilinear", align_corners=False)


def pool_masks(probs: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    """O×H×W masks -> O×1×h×w by area averaging (any H/h ratio)."""
    if probs.dim() != 3:
        raise ValueError(f"masks must be O×H×W, got shape {tuple(probs.shape)}")
    return F.adaptive_avg_pool2d(probs[:, None].float(), hw)


def position_map(hw: tuple[int, int], device: torch.device) -> torch.Tensor:
    """3×h×w position information: x and y in [-1, 1] and the distance from the centre (in [0, 1])."""
    h, w = hw
    ys = torch.linspace(-1.0, 1.0, h, device=device)
    xs = torch.linspace(-1.0, 1.0, w, device=device)
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    dist = torch.sqrt(xx**2 + yy**2) / math.sqrt(2.0)
    return torch.stack([xx, yy, dist])


def sine_positions(hw: tuple[int, int], dim: int, device: torch.device) -> torch.Tensor:
    """2-D sinusoidal position embedding: (h·w)×dim (half the channels for y, half for x)."""
    if dim % 4:
        raise ValueError(f"sine position embedding needs a multiple of 4 channels, got {dim}")
    h, w = hw
    quarter = dim // 4
    freq = 1.0 / (10000.0 ** (torch.arange(quarter, device=device, dtype=torch.float32) / quarter))
    ys = torch.arange(h, device=device, dtype=torch.float32)[:, None] * freq  # h×q
    xs = torch.arange(w, device=device, dtype=torch.float32)[:, None] * freq  # w×q
    pe_y = torch.cat([ys.sin(), ys.cos()], dim=1)[:, None, :].expand(h, w, 2 * quarter)
    pe_x = torch.cat([xs.sin(), xs.cos()], dim=1)[None, :, :].expand(h, w, 2 * quarter)
    return torch.cat([pe_y, pe_x], dim=2).reshape(h * w, dim)
