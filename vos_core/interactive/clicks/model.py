"""The click head: frozen-encoder features + clicks (+ previous mask, box) -> mask logits.

Clicks are a padded tensor ``points`` B×K×3 of ``(y, x, sign)`` in working-image pixels, sign +1
(positive), -1 (negative) or 0 (padding). Per scale (stride 4, 8, 16) the head sees:
- click maps (4 channels): a disk and a smooth decay around the positive and the negative clicks,
  radii relative to the image's short side;
- similarity maps (4 channels, stride 8/16): cosine similarity of every location's projected feature
  with the features under the positive and negative clicks (max over clicks), and with the mean
  feature inside and outside the prior region (previous mask, else box), an object-wide cue at once;
- the prior maps (2 channels): previous mask and box.
A small conv head (dilated residual blocks at stride 16 and 8, fused at stride 4) gives coarse
logits at stride 4, upsampled bilinearly; a :class:`Refiner` at stride 2 (depthwise-separable
convs on the image, previous mask, coarse probability and clicks) adds residual logits at the
working size for thin parts and exact boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from vos_core.models.encoders.efficientnet_lite import EncoderFeatures

#: click disk radius and decay length, as fractions of the working image's short side
DISK_RADIUS = 0.025
DECAY_LENGTH = 0.12


@dataclass(frozen=True)
class ClickHeadConfig:
    """Channel widths of the head (encoder channels are Lite0's 24/40/112)."""

    enc_channels: tuple[int, int, int] = (24, 40, 112)
    key8: int = 32
    key16: int = 64
    c4: int = 32
    c8: int = 64
    c16: int = 96
    refine: int = 16


def click_maps(
    points: torch.Tensor, hw: tuple[int, int], stride: int, image_hw: tuple[int, int]
) -> torch.Tensor:
    """points B×K×3 (y, x, sign) in image pixels -> B×4×h×w maps on the stride grid
    (positive disk, positive decay, negative disk, negative decay)."""
    b = points.shape[0]
    h, w = hw
    short = float(min(image_hw))
    ys = (torch.arange(h, dtype=points.dtype, device=points.device) + 0.5) * stride - 0.5
    xs = (torch.arange(w, dtype=points.dtype, device=points.device) + 0.5) * stride - 0.5
    if points.shape[1] == 0:
        return points.new_zeros(b, 4, h, w)
    dy = ys.view(1, 1, h, 1) - points[:, :, 0].view(b, -1, 1, 1)
    dx = xs.view(1, 1, 1, w) - points[:, :, 1].view(b, -1, 1, 1)
    d = torch.sqrt(dy * dy + dx * dx)  # B×K×h×w
    big = torch.full_like(d, 1e6)
    sign = points[:, :, 2].view(b, -1, 1, 1)
    maps = []
    for s in (1.0, -1.0):
        ds = torch.where(sign == s, d, big).amin(dim=1, keepdim=True)
        disk = (ds <= max(DISK_RADIUS * short, 0.75 * stride)).to(points.dtype)
        decay = torch.exp(-ds / (DECAY_LENGTH * short))
        maps += [disk, decay]
    return torch.cat(maps, dim=1)


def _normalise(x: torch.Tensor) -> torch.Tensor:
    return F.normalize(x, dim=1, eps=1e-6)


def similarity_maps(
    keys: torch.Tensor, points: torch.Tensor, stride: int, prior: torch.Tensor
) -> torch.Tensor:
    """keys B×C×h×w (L2-normalised), points B×K×3, prior B×1×h×w in [0, 1] -> B×4×h×w:
    max similarity to positive clicks, to negative clicks (0 when none), similarity to the mean key
    inside the prior and outside it (0 when the prior is empty)."""
    b, c, h, w = keys.shape
    out = keys.new_zeros(b, 4, h, w)
    if points.shape[1] > 0:
        gy = (points[:, :, 0] + 0.5) / (h * stride) * 2 - 1
        gx = (points[:, :, 1] + 0.5) / (w * stride) * 2 - 1
        grid = torch.stack([gx, gy], dim=-1).unsqueeze(1)  # B×1×K×2
        protos = _normalise(F.grid_sample(keys, grid, align_corners=False, padding_mode="border"))  # B×C×1×K
        sims = torch.einsum("bck,bchw->bkhw", protos[:, :, 0], keys)  # B×K×h×w
        sign = points[:, :, 2].view(b, -1, 1, 1)
        for i, s in enumerate((1.0, -1.0)):
            masked = torch.where(sign == s, sims, torch.full_like(sims, -2.0)).amax(dim=1, keepdim=True)
            out[:, i : i + 1] = torch.where(masked > -1.5, masked, torch.zeros_like(masked))
    for i, weight in enumerate((prior, 1.0 - prior)):
        total = weight.sum(dim=(2, 3), keepdim=True)
        has = (prior.sum(dim=(2, 3), keepdim=True) > 0.5) & (total > 0.5)
        proto = _normalise((keys * weight).sum(dim=(2, 3), keepdim=True) / total.clamp_min(1e-6))
        sim = (proto * keys).sum(dim=1, keepdim=True)
        out[:, 2 + i : 3 + i] = torch.where(has, sim, torch.zeros_like(sim))
    return out


def _conv(cin: int, cout: int, k: int = 3, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, padding=dilation * (k // 2), dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class _Residual(nn.Module):
    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv(channels, channels, 3, dilation), _conv(channels, channels, 3, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class _SepResidual(nn.Module):
    """Depthwise-separable residual block (3×3 depthwise, 1×1 pointwise): cheap at stride 2."""

    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__()
        self.dw = nn.Conv2d(
            channels, channels, 3, padding=dilation, dilation=dilation, groups=channels, bias=False
        )
        self.bn1 = nn.BatchNorm2d(channels)
        self.pw = nn.Conv2d(channels, channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.bn2(self.pw(F.relu(self.bn1(self.dw(x))))))


class Refiner(nn.Module):
    """Image-guided refinement at stride 2 for thin parts and exact boundaries.

    Input: the image, the previous mask and the coarse probability (B×5×H×W, pixel-unshuffled to
    B×20×H/2×W/2), click maps at stride 2 (B×4×H/2×W/2) and the head's stride-4 features
    (B×C×⌈H/4⌉×⌈W/4⌉, projected and upsampled). Output: residual logits B×1×H×W (pixel shuffle),
    zero at initialisation.
    """

    def __init__(self, head_channels: int, channels: int = 16, head_proj: int = 8) -> None:
        super().__init__()
        self.head_proj = nn.Conv2d(head_channels, head_proj, 1)
        self.fuse = _conv(20 + 4 + head_proj, channels, 1)
        self.blocks = nn.Sequential(_SepResidual(channels, 1), _SepResidual(channels, 2))
        self.out = nn.Conv2d(channels, 4, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, fine: torch.Tensor, clicks2: torch.Tensor, feats4: torch.Tensor) -> torch.Tensor:
        """fine B×5×H×W (H, W even), clicks2 B×4×H/2×W/2, feats4 B×C×⌈H/4⌉×⌈W/4⌉ -> B×1×H×W."""
        x2 = F.pixel_unshuffle(fine, 2)
        up4 = F.interpolate(self.head_proj(feats4), size=x2.shape[-2:], mode="bilinear", align_corners=False)
        y = self.blocks(self.fuse(torch.cat([x2, clicks2, up4], dim=1)))
        return F.pixel_shuffle(self.out(y), 2)


class ClickLogits(NamedTuple):
    """fine: refined logits B×1×H×W (the output); coarse: the stride-4 head's, upsampled."""

    fine: torch.Tensor
    coarse: torch.Tensor


class ClickHead(nn.Module):
    """Features + clicks + prior -> B×1×H×W mask logits at the working size H×W."""

    name = "clicks"

    def __init__(self, config: ClickHeadConfig | None = None) -> None:
        super().__init__()
        cfg = self.config = config or ClickHeadConfig()
        e4, e8, e16 = cfg.enc_channels
        self.key16 = nn.Conv2d(e16, cfg.key16, 1)
        self.key8 = nn.Conv2d(e8, cfg.key8, 1)
        self.proj4 = nn.Conv2d(e4, 16, 1)
        extra = 4 + 2  # click maps + prior maps
        self.in16 = _conv(cfg.key16 + 4 + extra, cfg.c16)
        self.body16 = nn.Sequential(_Residual(cfg.c16, 2), _Residual(cfg.c16, 4))
        self.in8 = _conv(cfg.key8 + 4 + extra + cfg.c16, cfg.c8)
        self.body8 = _Residual(cfg.c8, 2)
        self.in4 = _conv(16 + extra + cfg.c8, cfg.c4, 1)
        self.body4 = _conv(cfg.c4, cfg.c4, 3)
        self.out = nn.Conv2d(cfg.c4, 1, 1)
        self.refine = Refiner(cfg.c4, cfg.refine)
        self.trained = False

    def forward(
        self,
        feats: EncoderFeatures,
        points: torch.Tensor,
        prev_mask: torch.Tensor,
        box: torch.Tensor,
        rgb: torch.Tensor,
    ) -> ClickLogits:
        """feats: s4 B×24×⌈H/4⌉×⌈W/4⌉, s8 B×40×⌈H/8⌉×⌈W/8⌉, s16 B×112×⌈H/16⌉×⌈W/16⌉; points B×K×3;
        prev_mask, box: B×1×H×W in [0, 1] (zeros when absent); rgb: B×3×H×W in [0, 255]
        -> :class:`ClickLogits` (B×1×H×W each)."""
        b, _, h, w = prev_mask.shape
        s4, s8, s16 = feats.s4.float(), feats.s8.float(), feats.s16.float()
        for f, stride in ((s4, 4), (s8, 8), (s16, 16)):
            if tuple(f.shape[-2:]) != (-(-h // stride), -(-w // stride)) or f.shape[0] != b:
                raise ValueError(
                    f"features {tuple(s4.shape)}/{tuple(s8.shape)}/{tuple(s16.shape)} do not fit "
                    f"{b} images of {h}×{w} (stride 4/8/16, sizes rounded up)"
                )
        if rgb.shape != (b, 3, h, w):
            raise ValueError(f"image {tuple(rgb.shape)} does not fit B={b}, {h}×{w}")
        if box.shape != prev_mask.shape or points.dim() != 3 or points.shape[0] != b or points.shape[2] != 3:
            raise ValueError(
                f"box {tuple(box.shape)} / points {tuple(points.shape)} do not fit B={b}, {h}×{w}"
            )
        prior_full = torch.where(prev_mask.sum(dim=(2, 3), keepdim=True) > 0, prev_mask, box)

        def priors(size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
            pm = F.adaptive_avg_pool2d(prev_mask, size)
            bx = F.adaptive_avg_pool2d(box, size)
            return torch.cat([pm, bx], dim=1), F.adaptive_avg_pool2d(prior_full, size)

        k16 = _normalise(self.key16(s16))
        p16, r16 = priors(s16.shape[-2:])
        x16 = torch.cat(
            [k16, similarity_maps(k16, points, 16, r16), click_maps(points, s16.shape[-2:], 16, (h, w)), p16],
            dim=1,
        )
        f16 = self.body16(self.in16(x16))
        k8 = _normalise(self.key8(s8))
        p8, r8 = priors(s8.shape[-2:])
        up16 = F.interpolate(f16, size=s8.shape[-2:], mode="bilinear", align_corners=False)
        x8 = torch.cat(
            [k8, similarity_maps(k8, points, 8, r8), click_maps(points, s8.shape[-2:], 8, (h, w)), p8, up16],
            dim=1,
        )
        f8 = self.body8(self.in8(x8))
        p4, _ = priors(s4.shape[-2:])
        up8 = F.interpolate(f8, size=s4.shape[-2:], mode="bilinear", align_corners=False)
        x4 = torch.cat([self.proj4(s4), click_maps(points, s4.shape[-2:], 4, (h, w)), p4, up8], dim=1)
        f4 = self.body4(self.in4(x4))
        coarse = F.interpolate(self.out(f4), size=(h, w), mode="bilinear", align_corners=False)
        fine = torch.cat([(rgb - 127.0) / 128.0, prev_mask, torch.sigmoid(coarse)], dim=1)
        ph, pw = h % 2, w % 2
        if ph or pw:
            fine = F.pad(fine, (0, pw, 0, ph), mode="replicate")
        clicks2 = click_maps(points, (fine.shape[2] // 2, fine.shape[3] // 2), 2, (h, w))
        residual = self.refine(fine, clicks2, f4)[:, :, :h, :w]
        return ClickLogits(coarse + residual, coarse)
