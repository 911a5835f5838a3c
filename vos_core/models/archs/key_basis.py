"""A fixed low-dimensional basis for the propagation keys (a speed measure, fitted once offline).

Affinities are dot products of unit keys, so the basis is the top eigenvectors of the keys'
*uncentred* second moment E[k kᵀ]: projecting onto it keeps dot products as well as any linear
map of that size can. Fitted on DAVIS-2016 training sequences (never the dev split) with::

    python -m vos_core.models.archs.key_basis --davis ../shared/data/davis2016-train
"""

from __future__ import annotations

import argparse
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

BASIS_PATH = Path(__file__).resolve().parents[2] / "resources" / "lite0_key_basis.npy"
DEV_SPLIT = ("bmx-bumps", "car-turn", "dog-agility", "kite-walk", "lucia")


@lru_cache(maxsize=1)
def load_basis() -> torch.Tensor | None:
    """D×C projection (rows orthonormal), or None when no basis file is shipped."""
    if not BASIS_PATH.exists():
        return None
    basis = np.load(BASIS_PATH, allow_pickle=False)
    return torch.from_numpy(np.ascontiguousarray(basis, dtype=np.float32))


def fit_basis(keys: torch.Tensor, dims: int) -> torch.Tensor:
    """keys: C×N unit vectors -> dims×C basis of the top eigenvectors of E[k kᵀ]."""
    second = keys @ keys.t() / keys.shape[1]
    _, vectors = torch.linalg.eigh(second.double())
    return vectors[:, -dims:].flip(1).t().float().contiguous()


def main(argv: list[str] | None = None) -> int:
    from vos_core.data.davis import DavisDataset
    from vos_core.models.archs.propagation import combined_keys
    from vos_core.models.registry import pretrained_lite0

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--davis", required=True)
    p.add_argument("--dims", type=int, default=64)
    p.add_argument("--frames-per-sequence", type=int, default=4)
    args = p.parse_args(argv)
    data = DavisDataset(args.davis)
    net = pretrained_lite0()
    samples = []
    for seq in data.sequences():
        if seq in DEV_SPLIT:
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
