"""Design (b): a discriminative target model (FRTM/LWL-like) fused with the decoder's output.

Per object, a linear classifier on the frame's frozen stride-16 features (the decoder skip
``skips[2]``; the keys for models without skips), standardised per channel, fitted in closed form
(ridge regression onto ±1 targets: the object's share of each feature cell) on every view of
every given frame. On a new frame its score map s (O×h×w, about ±1) is upsampled and added to the
decoder's logits: p' = σ(logit(p) + weight · clamp(s, -1, 1)).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vos_core.adapt.samples import GivenFrame, one_hot
from vos_core.config import AdaptConfig
from vos_core.models.base import FrameFeatures, VosModel


def target_features(frame: FrameFeatures) -> torch.Tensor:
    """The features the target model reads: C×h×w."""
    f = frame.skips[2] if len(frame.skips) >= 3 else frame.key
    return f[0] if f.dim() == 4 else f


class TargetModel:
    """Ridge classifiers per object on frozen features; ``model`` is the session's own (unchanged)."""

    def __init__(self, model: VosModel, config: AdaptConfig) -> None:
        self.model = model
        self.config = config
        self.weights: torch.Tensor | None = None  # O×(C+1)
        self.mean: torch.Tensor | None = None  # C
        self.std: torch.Tensor | None = None  # C

    def fit(self, given: dict[int, GivenFrame], ids: tuple[int, ...]) -> None:
        if not given or not ids:
            self.weights = None
            return
        xs, ys = [], []
        for g in given.values():
            for v, view in enumerate(g.views):
                f = target_features(view).float()
                c, h, w = f.shape
                xs.append(f.reshape(c, -1).T)
                onehot = one_hot(g.labels[v], ids)
                share = F.adaptive_avg_pool2d(onehot[None], (h, w))[0]  # each cell's object share
                ys.append(share.reshape(len(ids), -1).T)
        x, y = torch.cat(xs), torch.cat(ys) * 2 - 1  # N×C, N×O in [-1, 1]
        self.mean, self.std = x.mean(0), x.std(0) + 1e-3
        xn = torch.cat([(x - self.mean) / self.std, torch.ones(len(x), 1)], dim=1)
        # balance object and background cells (objects are often small)
        pos = (y > 0).float()
        wpos = 0.5 / pos.mean(0).clamp(min=1e-3)
        wneg = 0.5 / (1 - pos.mean(0)).clamp(min=1e-3)
        rows = []
        for o in range(y.shape[1]):
            sw = torch.where(pos[:, o] > 0, wpos[o], wneg[o])[:, None]
            a = xn.T @ (xn * sw) + self.config.ridge * len(x) * torch.eye(xn.shape[1])
            rows.append(torch.linalg.solve(a, xn.T @ (y[:, o : o + 1] * sw))[:, 0])
        self.weights = torch.stack(rows)

    def scores(self, frame: FrameFeatures) -> torch.Tensor:
        """O×h×w classifier scores of a frame (about -1 background .. +1 object)."""
        assert self.weights is not None and self.mean is not None and self.std is not None
        f = target_features(frame).float()
        c, h, w = f.shape
        xn = (f.reshape(c, -1).T - self.mean) / self.std
        return (xn @ self.weights[:, :c].T + self.weights[:, c]).T.reshape(-1, h, w)

    def refine(self, frame: FrameFeatures, probs: torch.Tensor) -> torch.Tensor:
        """probs: O×H×W decoder probabilities -> fused O×H×W probabilities."""
        if self.weights is None or self.weights.shape[0] != probs.shape[0] or self.config.fusion <= 0:
            return probs
        s = self.scores(frame).clamp(-1, 1)
        s = F.interpolate(s[None], size=probs.shape[-2:], mode="bilinear", align_corners=False)[0]
        p = probs.float().clamp(1e-4, 1 - 1e-4)
        return torch.sigmoid(torch.logit(p) + self.config.fusion * s).to(probs.dtype)
