"""Edge-aware upsampling of low-resolution probabilities with a (fast) guided filter.

He, Sun and Tang's guided filter fits, in every window, a linear model ``q = a·I + b`` of the
probability map ``p`` on the grey guide image ``I``; boundaries of ``q`` then follow image edges.
The fast variant fits ``a, b`` at a reduced resolution and applies them at full resolution.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _box(x: torch.Tensor, r: int) -> torch.Tensor:
    """Mean over (2r+1)² windows, B×C×H×W, borders averaged over the valid part."""
    return F.avg_pool2d(x, 2 * r + 1, stride=1, padding=r, count_include_pad=False)


def guided_upsample(
    probs: torch.Tensor, rgb: torch.Tensor, radius: int = 4, eps: float = 1e-2, scale: int = 4
) -> torch.Tensor:
    """probs: O×h×w low-res probabilities; rgb: 1×3×H×W image in [0, 255] -> O×H×W in [0, 1].

    The linear coefficients are fitted at ``H/scale × W/scale`` with window radius ``radius``
    (in those pixels) and regulariser ``eps`` (on a guide in [0, 1]).
    """
    H, W = rgb.shape[-2:]
    grey = (rgb[0].mean(dim=0, keepdim=True) / 255.0)[None]  # 1×1×H×W
    lh, lw = max(1, H // scale), max(1, W // scale)
    g_low = F.interpolate(grey, size=(lh, lw), mode="area")
    p_low = F.interpolate(probs[None], size=(lh, lw), mode="bilinear", align_corners=False)
    mean_i = _box(g_low, radius)
    mean_p = _box(p_low, radius)
    cov_ip = _box(g_low * p_low, radius) - mean_i * mean_p
    var_i = _box(g_low * g_low, radius) - mean_i * mean_i
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    a = F.interpolate(_box(a, radius), size=(H, W), mode="bilinear", align_corners=False)
    b = F.interpolate(_box(b, radius), size=(H, W), mode="bilinear", align_corners=False)
    return (a * grey + b)[0].clamp_(0.0, 1.0)
