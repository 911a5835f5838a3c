"""The click head: frozen-encoder features + clicks (+ previous mask, box) -> mask logits.

Clicks are a padded tensor ``points`` B×K×3 of ``(y, x, sign)`` in working-image pixels, sign +1
(positive), -1 (negative) or 0 (padding). Per scale (stride 4, 8, 16) the head sees:
- click maps (4 channels): a disk and a smooth decay around the positive and the negative clicks,
  radii relative to the image's short side;
- similarity maps (4 channels, stride 8/16): cosine similarity of every location's projected feature
  with the features under the positive and negative clicks (max over clicks), and with the mean
  feature inside and outside the prior region (previous mask, else box), an object-wide cue at once;
- the prior maps (2 channels): previous mask and box.
A small conv head (dilated residual blocks at stride 16 and 8, fused at stride 4) gives logits at
stride 4, upsampled bilinearly to the working size.
"""

from __future__ import annotations

from dataclasses import dataclass

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
        self.trained = False

    def forward(
        self, feats: EncoderFeatures, points: torch.Tensor, prev_mask: torch.Tensor, box: torch.Tensor
    ) -> torch.Tensor:
        """feats: s4 B×24×⌈H/4⌉×⌈W/4⌉, s8 B×40×⌈H/8⌉×⌈W/8⌉, s16 B×112×⌈H/16⌉×⌈W/16⌉; points B×K×3;
        prev_mask, box: B×1×H×W in [0, 1] (zeros when absent) -> logits B×1×H×W."""
        b, _, h, w = prev_mask.shape
        s4, s8, s16 = feats.s4.float(), feats.s8.float(), feats.s16.float()
        for f, stride in ((s4, 4), (s8, 8), (s16, 16)):
            if tuple(f.shape[-2:]) != (-(-h // stride), -(-w // stride)) or f.shape[0] != b:
                raise ValueError(
                    f"features {tuple(s4.shape)}/{tuple(s8.shape)}/{tuple(s16.shape)} do not fit "
                    f"{b} images of {h}×{w} (stride 4/8/16, sizes rounded up)"
                )
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
        logits4 = self.out(self.body4(self.in4(x4)))
        return F.interpolate(logits4, size=(h, w), mode="bilinear", align_corners=False)
