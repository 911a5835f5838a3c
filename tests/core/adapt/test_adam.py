"""The adaptation's Adam gives torch.optim.Adam's results, without importing torch._dynamo."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from torch import nn

from vos_core.adapt.adam import Adam


def _params(seed: int) -> list[nn.Parameter]:
    g = torch.Generator().manual_seed(seed)
    return [nn.Parameter(torch.randn(4, 3, generator=g)), nn.Parameter(torch.randn(5, generator=g)),
            nn.Parameter(torch.randn(2, 2, generator=g))]


def _loss(params: list[nn.Parameter], step: int) -> torch.Tensor:
    a, b, c = params
    return (a.sin() * (step + 1)).sum() + (b**2).mean() * 3 + (c @ c).abs().sum()


def test_same_updates_as_torch_adam() -> None:
    ours, theirs = _params(0), _params(0)
    opt = Adam(ours, lr=3e-3)
    ref = torch.optim.Adam(theirs, lr=3e-3)
    for step in range(25):
        for params, o in ((ours, opt), (theirs, ref)):
            o.zero_grad()
            loss = _loss(params, step)
            if step == 3:  # a parameter without a gradient is left alone, as torch does
                loss = loss - params[2].sum() * 0 + params[2].detach().sum()
            loss.backward()
            if step == 3:
                params[2].grad = None
            o.step()
    for p, q in zip(ours, theirs, strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    assert opt.steps == [25, 25, 24]  # each parameter counts its own steps


def test_rejects_bad_settings() -> None:
    with pytest.raises(ValueError):
        Adam(_params(1), lr=0)
    with pytest.raises(ValueError):
        Adam(_params(1), lr=1e-3, betas=(1.0, 0.9))


def test_a_refit_does_not_import_torch_dynamo() -> None:
    """The first torch.optim use imports torch._dynamo (a second of GIL-holding Python that froze
    the app's GUI thread during the first refit); the adaptation must not."""
    code = (
        "import sys, torch\n"
        "from vos_core.adapt.adam import Adam\n"
        "p = torch.nn.Parameter(torch.ones(3)); o = Adam([p], lr=0.1)\n"
        "(p * p).sum().backward(); o.step()\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
