"""Learned-key affinity readout on top of the shared :func:`fused_readout`.

The shared readout scores candidates by a dot product divided by ``ReadoutConfig.temperature``.
For STCN's negative squared L2 affinity ``-|q - k|² / √C_k`` the keys are augmented so that the
dot product equals it (the ``|q|²`` term is constant per query and cancels in the softmax):
query ``[2q; -1] · s``, memory ``[k; |k|²]``, with ``s = REF_TEMPERATURE / √C_k``. With the default
temperature the readout is exactly STCN's; another temperature sharpens/flattens it proportionally.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch

from vos_core.config import ReadoutConfig
from vos_core.memory.bank import MemoryView
from vos_core.memory.entries import MemoryFeatures
from vos_core.models.readout.affinity import ReadoutResult, fused_readout, global_topk

#: the temperature the learned affinities are calibrated to (``ReadoutConfig``'s default)
REF_TEMPERATURE = ReadoutConfig().temperature

Affinity = Literal["l2", "dot"]


def query_keys(key: torch.Tensor, affinity: Affinity = "l2") -> torch.Tensor:
    """C×... query keys -> (C+1)×... augmented query keys (see module docstring)."""
    c = key.shape[0]
    scale = REF_TEMPERATURE / math.sqrt(c)
    if affinity == "dot":
        return torch.cat([key, torch.zeros_like(key[:1])]) * scale
    return torch.cat([2 * key, -torch.ones_like(key[:1])]) * scale


def memory_keys(key: torch.Tensor, affinity: Affinity = "l2") -> torch.Tensor:
    """C×... memory keys -> (C+1)×... augmented memory keys."""
    if affinity == "dot":
        return torch.cat([key, torch.zeros_like(key[:1])])
    return torch.cat([key, key.pow(2).sum(dim=0, keepdim=True)])


def affinity_readout(
    query: torch.Tensor,
    bank: MemoryView | None,
    recent: Sequence[MemoryFeatures],
    config: ReadoutConfig,
    affinity: Affinity = "l2",
    key_channels: int | None = None,
    use_recent: bool = True,
) -> ReadoutResult:
    """Top-k readout of learned values for the stride-16 query keys.

    query: C_k×h×w; bank: key C×M (the first ``key_channels`` rows are the keys, default all),
    value O×C_v×M; recent frames are read through the local window when ``use_recent`` and they
    are full h×w grids. Returns values O×C_v×h×w. Without any memory the values are zero.
    """
    c, h, w = query.shape
    kc = key_channels or c
    if kc != c:
        raise ValueError(f"query has {c} key channels, memory keys {kc}")
    q = query_keys(query, affinity)
    matches = None
    if bank is not None:
        if bank.key.shape[0] < kc:
            raise ValueError(f"memory keys have {bank.key.shape[0]} channels, need {kc}")
        matches = global_topk(q.flatten(1), memory_keys(bank.key[:kc], affinity), bank.value, config.top_k)
    keys: list[torch.Tensor] = []
    values: list[torch.Tensor] = []
    if use_recent:
        for r in recent:
            if r.hw != (h, w):
                continue
            keys.append(memory_keys(r.key[:kc].reshape(kc, h, w), affinity))
            values.append(r.value.reshape(r.value.shape[0], -1, h, w))
    if matches is None and not keys:
        o = recent[0].value.shape[0] if recent else 0
        cv = recent[0].value.shape[1] if recent else 1
        return ReadoutResult(query.new_zeros(o, cv, h, w), None, 0.0, h * w)
    return fused_readout(
        q, keys, values, matches, (h, w), bank.size if bank is not None else 0,
        config.top_k, config.temperature, config.local_radius,
    )


def view_of(entries: Sequence[MemoryFeatures]) -> MemoryView | None:
    """Concatenate memory features into a :class:`MemoryView` (as the bank does); None if empty.
    Used by training and tests, where there is no bank."""
    if not entries:
        return None
    segments = []
    start = 0
    for i, e in enumerate(entries):
        segments.append((-(i + 1), start, start + e.n_pixels))
        start += e.n_pixels
    return MemoryView(
        key=torch.cat([e.key for e in entries], dim=1),
        value=torch.cat([e.value for e in entries], dim=2),
        segments=tuple(segments),
    )
