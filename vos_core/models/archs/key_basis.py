"""A fixed low-dimensional basis for the propagation keys (a speed measure, fitted once offline).

Affinities are dot products of unit keys, so the basis is the top eigenvectors of the keys'
*uncentred* second moment E[k kᵀ]: projecting onto it keeps dot products as well as any linear
map of that size can. Fitted on DAVIS-2016 training sequences (never the dev split) with::

    python -m vos_core.models.archs.key_basis --davis ../shared/data/davis2016-train
"""

from __future__ import annotations

import argparse
import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from vos_core.data.davis import DEV_SEQUENCES
from vos_core.models.encoders.efficientnet_lite import EncoderFeatures

BASIS_PATH = Path(__file__).resolve().parents[2] / "resources" / "lite0_key_basis.npy"


@lru_cache(maxsize=1)
def load_basis() -> torch.Tensor | None:
    """D×C projection (rows orthonormal), or None when no basis file is shipped."""
    if not BASIS_PATH.exists():
        return None
    basis = np.load(BASIS_PATH, allow_pickle=False)
    return torch.from_numpy(np.ascontiguousarray(basis, dtype=np.float32))


def _unit(x: torch.Tensor) -> torch.Tensor:
    return F.normalize(x, dim=0)


def combined_keys(f: EncoderFeatures) -> tuple[torch.Tensor, torch.Tensor]:
    """-> (coarse C×h×w at stride 16, fine C×H×W at stride 8), C = C8 + C16, unit length.

    Both levels live in the same space (stride-8 and stride-16 parts, each normalised, weighted
    equally), so coarse and fine similarities can be ranked together.
    """
    s8, s16 = f.s8[0].float(), f.s16[0].float()
    up16 = F.interpolate(s16[None], size=s8.shape[-2:], mode="bilinear", align_corners=False)[0]
    down8 = F.adaptive_avg_pool2d(s8[None], s16.shape[-2:])[0]
    scale = 1.0 / math.sqrt(2.0)
    fine = torch.cat([_unit(s8), _unit(up16)]) * scale
    coarse = torch.cat([_unit(down8), _unit(s16)]) * scale
    return coarse.contiguous(), fine.contiguous()


def fit_basis(keys: torch.Tensor, dims: int) -> torch.Tensor:
    """keys: C×N unit vectors -> dims×C basis of the top eigenvectors of E[k kᵀ]."""
    second = keys @ keys.t() / keys.shape[1]
    _, vectors = torch.linalg.eigh(second.double())
    return vectors[:, -dims:].flip(1).t().float().contiguous()


def main(argv: list[str] | None = None) -> int:
    from vos_core.data.davis import DavisDataset
    from vos_core.models.encoders.shared import pretrained_lite0

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--davis", required=True)
    p.add_argument("--dims", type=int, default=64)
    p.add_argument("--frames-per-sequence", type=int, default=4)
    args = p.parse_args(argv)
    data = DavisDataset(args.davis)
    net = pretrained_lite0()
    samples = []
    for seq in data.sequences():
        if seq in DEV_SEQUENCES:
            continue
        frames = data.frames(seq)
        for i in np.linspace(0, len(frames) - 1, args.frames_per_sequence).astype(int):
            rgb = torch.from_numpy(frames.read(int(i))).permute(2, 0, 1)[None].float()
            with torch.no_grad():
                coarse, fine = combined_keys(net(rgb))
            samples += [coarse.flatten(1), fine.flatten(1)[:, ::4]]
    keys = torch.cat(samples, dim=1)
    basis = fit_basis(keys, args.dims)
    kept = float(((basis @ keys) ** 2).sum() / (keys**2).sum())
    BASIS_PATH.parent.mkdir(parents=True, exist_ok=True)
    np.save(BASIS_PATH, basis.numpy())
    print(f"{keys.shape[1]} keys, {args.dims} dims keep {kept:.3f} of the energy -> {BASIS_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
