"""Space-time affinity readout shared by all architectures.

Two candidate sources per query pixel, scored by cosine similarity of L2-normalised keys:
- global: top-k over every bank entry at the coarse stride (:func:`global_topk`);
- local: a window around the query position in each recent frame at the fine stride
  (:func:`local_window_scores`), computed tile by tile with batched matrix products.
:func:`fused_readout` takes the top-k of the union, applies a softmax with temperature and mixes
the candidates' values. It also reports how much weight each memory pixel and the recent frames got.

Learned keys (:func:`affinity_readout`): candidates are scored by a dot product divided by
``ReadoutConfig.temperature``. For STCN's negative squared L2 affinity ``-|q - k|² / √C_k`` the
keys are augmented so that the dot product equals it (the ``|q|²`` term is constant per query and
cancels in the softmax): query ``[2q; -1] · s``, memory ``[k; |k|²]``, with
``s = REF_TEMPERATURE / √C_k``. With the default temperature the readout is exactly STCN's; another
temperature sharpens/flattens it proportionally.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from vos_core.config import ReadoutConfig
from vos_core.memory.bank import MemoryView
from vos_core.memory.entries import MemoryFeatures

NEG = -1e4


@dataclass(frozen=True)
class GlobalMatches:
    """Top-k matches of coarse query pixels in the bank.

    sim: N×k similarities, index: N×k indices along the bank's M axis, value: O×C_v×N×k.
    """

    sim: torch.Tensor
    index: torch.Tensor
    value: torch.Tensor


@dataclass(frozen=True)
class ReadoutResult:
    """value: O×C_v×H×W mixed values at the query grid; pixel_weight: M weight per bank pixel
    summed over query pixels (None without a bank); recent_share: share of weight on recent frames
    (a 0-dim tensor on the readout's device, so that nobody waits for it who does not read it)."""

    value: torch.Tensor
    pixel_weight: torch.Tensor | None
    recent_share: float | torch.Tensor
    n_queries: int


def global_topk(
    query: torch.Tensor, mem_key: torch.Tensor, mem_value: torch.Tensor, k: int, chunk: int = 4096
) -> GlobalMatches:
    """query: C×N, mem_key: C×M, mem_value: O×C_v×M -> top-k matches (k clipped to M)."""
    if query.shape[0] != mem_key.shape[0]:
        raise ValueError(f"key channels differ: query {query.shape[0]}, memory {mem_key.shape[0]}")
    k = min(k, mem_key.shape[1])
    sims, idxs = [], []
    qt = query.t().contiguous()
    for s in range(0, qt.shape[0], chunk):
        v, i = torch.topk(qt[s : s + chunk] @ mem_key, k, dim=1, sorted=False)
        sims.append(v)
        idxs.append(i)
    sim = torch.cat(sims)
    index = torch.cat(idxs)
    o, cv = mem_value.shape[:2]
    value = mem_value.index_select(2, index.flatten()).view(o, cv, *index.shape)  # O×C_v×N×k
    return GlobalMatches(sim, index, value)


def _tiles(x: torch.Tensor, tile: int, pad: int, fill: float = 0.0) -> torch.Tensor:
    """C×H×W (H, W multiples of tile) -> T×C×(tile+2·pad)² windows around each tile."""
    c = x.shape[0]
    xp = F.pad(x[None], (pad, pad, pad, pad), value=fill)
    win = tile + 2 * pad
    cols = F.unfold(xp, kernel_size=win, stride=tile)  # 1×(C·win²)×T
    # contiguous: batched products on the permuted view run an order of magnitude slower
    return cols[0].view(c, win * win, -1).permute(2, 0, 1).contiguous()


def _query_tiles(x: torch.Tensor, tile: int) -> torch.Tensor:
    """C×H×W -> T×tile²×C."""
    c = x.shape[0]
    cols = F.unfold(x[None], kernel_size=tile, stride=tile)  # 1×(C·tile²)×T
    return cols[0].view(c, tile * tile, -1).permute(2, 1, 0).contiguous()


def _untile(x: torch.Tensor, tile: int, hw: tuple[int, int]) -> torch.Tensor:
    """T×tile²×C -> C×H×W."""
    t, n, c = x.shape
    cols = x.permute(2, 1, 0).reshape(1, c * n, t)
    return F.fold(cols, output_size=hw, kernel_size=tile, stride=tile)[0]


def fused_readout(
    query: torch.Tensor,
    recent_keys: list[torch.Tensor],
    recent_values: list[torch.Tensor],
    matches: GlobalMatches | None,
    coarse_hw: tuple[int, int] | None,
    memory_size: int,
    k: int,
    temperature: float,
    radius: int,
    tile: int = 8,
) -> ReadoutResult:
    """Top-k softmax readout over local-window and global candidates.

    query: C×H×W fine query keys; recent_keys[i]: C×H×W, recent_values[i]: O×C_v×H×W;
    matches: global matches of the coarse grid ``coarse_hw`` (each fine pixel inherits the
    candidates of the coarse pixel it falls in), or None; memory_size: M of the bank.
    Returns values O×C_v×H×W.
    """
    c, h, w = query.shape
    if not recent_keys and matches is None:
        raise ValueError("readout needs a bank or recent frames")
    ph, pw = (-h) % tile, (-w) % tile
    hp, wp = h + ph, w + pw
    q = F.pad(query, (0, pw, 0, ph))
    qt = _query_tiles(q, tile)  # T×n×C
    n_tiles, n = qt.shape[0], qt.shape[1]
    scores: list[torch.Tensor] = []
    local_values: list[torch.Tensor] = []  # T×win²×OC per recent frame
    if recent_keys:
        valid = F.pad(torch.ones(1, h, w, device=query.device), (0, pw, 0, ph))
        valid_t = _tiles(valid, tile, radius)  # T×1×win²
        for key, val in zip(recent_keys, recent_values, strict=True):
            if key.shape != query.shape:
                raise ValueError(f"recent key {tuple(key.shape)} != query {tuple(query.shape)}")
            kt = _tiles(F.pad(key, (0, pw, 0, ph)), tile, radius)  # T×C×win²
            s = torch.bmm(qt, kt).masked_fill(valid_t <= 0, NEG)  # T×n×win²
            o, cv = val.shape[:2]
            vt = _tiles(F.pad(val.reshape(o * cv, h, w), (0, pw, 0, ph)), tile, radius)
            scores.append(s)
            local_values.append(vt.transpose(1, 2).contiguous())
    n_local = sum(s.shape[2] for s in scores)
    ref = recent_values[0] if recent_values else matches.value  # type: ignore[union-attr]
    oc = ref.shape[0] * ref.shape[1]
    # wide values on a global grid that is the query grid: the global values are mixed in place
    # (weights untiled to N×k) instead of being copied into tiles
    global_in_place = matches is not None and oc > 16 and coarse_hw == (h, w)
    glob_values = idx_t = None
    if matches is not None:
        assert coarse_hw is not None
        gh, gw = coarse_hw
        kk = matches.sim.shape[1]
        o, cv = matches.value.shape[:2]

        def to_fine(x: torch.Tensor, fill: float = 0.0) -> torch.Tensor:
            # coarse grid -> fine grid by nearest neighbour: a fine pixel inherits its parent's matches
            x = F.interpolate(x.reshape(-1, gh, gw)[None], size=(h, w), mode="nearest")[0]
            return _query_tiles(F.pad(x, (0, pw, 0, ph), value=fill), tile)

        scores.append(to_fine(matches.sim.t(), NEG))  # T×n×k
        idx_t = to_fine(matches.index.t().float()).long()
        if not global_in_place:
            glob_values = to_fine(matches.value.permute(0, 1, 3, 2)).view(n_tiles, n, o * cv, kk)
    all_s = torch.cat(scores, dim=2)
    kk = min(k, all_s.shape[2])
    top_s, top_i = torch.topk(all_s, kk, dim=2, sorted=False)
    weight = torch.softmax(top_s / temperature, dim=2)  # T×n×k
    in_place = None
    if oc <= 16:
        # few value channels (mask propagation): gather the k picked values per query pixel,
        # from each source separately (no concatenated copy of all candidates' values)
        mixed = torch.zeros(n_tiles, n, oc, dtype=query.dtype, device=query.device)
        start = 0
        sources = [v.unsqueeze(1).expand(-1, n, -1, -1) for v in local_values]
        if glob_values is not None:
            sources.append(glob_values.transpose(2, 3))  # T×n×k×OC
        for src in sources:
            size = src.shape[2]
            inside = (top_i >= start) & (top_i < start + size)
            idx = (top_i - start).clamp(0, size - 1).unsqueeze(-1).expand(-1, -1, -1, oc)
            picked_weight = (weight * inside).unsqueeze(-1)
            mixed += (torch.gather(src, 2, idx) * picked_weight).sum(dim=2)
            start += size
    else:
        # wide values (learned features): dense weights, one batched product per source
        dense = torch.zeros_like(all_s).scatter_(2, top_i, weight)  # T×n×candidates
        mixed = torch.zeros(n_tiles, n, oc, dtype=query.dtype, device=query.device)
        start = 0
        for vt in local_values:
            mixed += torch.bmm(dense[:, :, start : start + vt.shape[1]], vt)
            start += vt.shape[1]
        if glob_values is not None:
            mixed += (glob_values * dense[:, :, start:].unsqueeze(2)).sum(dim=3)
        elif global_in_place:
            assert matches is not None
            w_glob = _untile(dense[:, :, start:], tile, (hp, wp))[:, :h, :w].reshape(-1, h * w)  # k×N
            in_place = (matches.value * w_glob.t()).sum(dim=3)  # O×C_v×N
    out = _untile(mixed, tile, (hp, wp))[:, :h, :w].reshape(ref.shape[0], ref.shape[1], h, w)
    if in_place is not None:
        out = out + in_place.view_as(out)

    # bookkeeping: weight per bank pixel and the share given to recent frames
    ones = F.pad(torch.ones(1, h, w, device=query.device), (0, pw, 0, ph))
    valid_q = _query_tiles(ones, tile)[..., 0] > 0  # T×n
    weight = weight * valid_q.unsqueeze(-1)
    is_local = top_i < n_local
    recent_share = (weight * is_local).sum() / (weight.sum() + 1e-12) if n_local else weight.new_zeros(())
    pixel_weight = None
    if matches is not None:
        glob_pos = (top_i - n_local).clamp(min=0)
        assert idx_t is not None
        mem_idx = torch.gather(idx_t, 2, glob_pos)
        gw_ = weight.masked_fill(is_local, 0.0)
        pixel_weight = torch.zeros(memory_size, device=query.device)
        pixel_weight.index_add_(0, mem_idx.flatten(), gw_.flatten())
    return ReadoutResult(out, pixel_weight, recent_share, h * w)


# ----------------------------------------------------------------- learned keys
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
