"""Segmentation losses: bootstrapped cross-entropy + Dice on soft-aggregated object logits.

Objects are predicted independently (O×H×W logits); like the inference session (STM soft
aggregation) they are merged into O+1 classes, background first, before the loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


def _log1mexp(a: torch.Tensor) -> torch.Tensor:
    """log(1 - exp(a)) for a < 0, numerically stable."""
    a = a.clamp(max=-1e-7)
    return torch.where(a > -0.6931, torch.log(-torch.expm1(a)), torch.log1p(-torch.exp(a)))


def aggregate_logits(obj_logits: torch.Tensor) -> torch.Tensor:
    """Soft aggregation in log space: O×H×W independent object logits -> (O+1)×H×W class logits
    whose softmax equals the session's ``soft_aggregate`` of the sigmoid probabilities."""
    if obj_logits.dim() != 3:
        raise ValueError(f"object logits must be O×H×W, got shape {tuple(obj_logits.shape)}")
    log_bg = F.logsigmoid(-obj_logits).sum(dim=0, keepdim=True)  # log Π(1 - p_o)
    bg_logit = log_bg - _log1mexp(log_bg)
    return torch.cat([bg_logit, obj_logits], dim=0)


def bootstrapped_ce(logits: torch.Tensor, target: torch.Tensor, top_p: float = 1.0) -> torch.Tensor:
    """Cross-entropy averaged over the ``top_p`` fraction of hardest pixels of each image.

    logits: B×K×H×W, target: B×H×W class indices.
    """
    if not 0.0 < top_p <= 1.0:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    raw = F.cross_entropy(logits, target, reduction="none").flatten(1)  # B×HW
    if top_p >= 1.0:
        return raw.mean()
    k = max(1, int(raw.shape[1] * top_p))
    return raw.topk(k, dim=1, sorted=False).values.mean()


def dice_loss(probs: torch.Tensor, target: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """1 - soft Dice, averaged over images and objects. probs, target: B×O×H×W (target in {0, 1})."""
    if probs.shape != target.shape:
        raise ValueError(f"dice_loss shapes differ: {tuple(probs.shape)} vs {tuple(target.shape)}")
    p, g = probs.flatten(2), target.float().flatten(2)
    inter = (p * g).sum(dim=2)
    dice = (2 * inter + smooth) / (p.sum(dim=2) + g.sum(dim=2) + smooth)
    return (1 - dice).mean()


@dataclass(frozen=True)
class SegLossConfig:
    """ce_weight / dice_weight: the mix (0.5 each, as seed 002); top_p: final bootstrapping fraction."""

    ce_weight: float = 0.5
    dice_weight: float = 0.5
    top_p: float = 0.15


def segmentation_loss(
    obj_logits: torch.Tensor, labels: torch.Tensor, top_p: float, config: SegLossConfig | None = None
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """obj_logits: O×H×W, labels: H×W long (0 = background, 1..O objects) -> (loss, parts: the
    detached 0-dim "ce" and "dice" terms, left on the device: reading them is the caller's sync)."""
    cfg = config or SegLossConfig()
    o = obj_logits.shape[0]
    if labels.shape != obj_logits.shape[1:]:
        raise ValueError(f"labels {tuple(labels.shape)} do not match logits {tuple(obj_logits.shape)}")
    logits = aggregate_logits(obj_logits)[None]  # 1×(O+1)×H×W
    target = labels.long()[None]
    ce = bootstrapped_ce(logits, target, top_p)
    probs = torch.softmax(logits, dim=1)[:, 1:]
    onehot = F.one_hot(target.clamp(max=o), o + 1).permute(0, 3, 1, 2)[:, 1:]
    dice = dice_loss(probs, onehot)
    loss = cfg.ce_weight * ce + cfg.dice_weight * dice
    return loss, {"ce": ce.detach(), "dice": dice.detach()}
