"""Adam for the adaptation's few steps, in plain tensor operations.

The same update as ``torch.optim.Adam`` (no weight decay, no AMSGrad; the single-tensor path it
takes on the CPU, operation for operation, so the results are equal). It exists because the first
use of any ``torch.optim`` optimiser imports ``torch._dynamo``: about a second of Python that holds
the GIL in stretches of up to 150 ms, which froze the application's GUI thread while the engine
thread ran its first refit.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class Adam:
    """Adam over a fixed list of parameters (moments start at zero and each parameter counts its
    own steps, as in ``torch.optim.Adam``)."""

    def __init__(
        self,
        params: Sequence[nn.Parameter],
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        if lr <= 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1) or eps <= 0:
            raise ValueError("invalid Adam settings (lr > 0, 0 <= betas < 1, eps > 0)")
        self.params = list(params)
        self.lr, self.betas, self.eps = lr, betas, eps
        self.exp_avg = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
        self.steps = [0] * len(self.params)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        beta1, beta2 = self.betas
        moments = zip(self.params, self.exp_avg, self.exp_avg_sq, strict=True)
        for i, (p, exp_avg, exp_avg_sq) in enumerate(moments):
            if p.grad is None:
                continue
            self.steps[i] += 1
            step = self.steps[i]
            bias_correction1 = 1 - beta1**step
            bias_correction2_sqrt = (1 - beta2**step) ** 0.5
            grad = p.grad
            exp_avg.lerp_(grad, 1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(self.eps)
            p.addcdiv_(exp_avg, denom, value=-(self.lr / bias_correction1))
