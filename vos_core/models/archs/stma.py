"""Seed 002: spatial-temporal multi-level association (tokens on the shared CNN features).

- Tokens (3.1): a 1×1 projection of the frozen stride-16 features (C = 128) plus a sinusoidal
  position embedding (the paper's MAE ViT patch tokens are not used here).
- Association blocks (3.2, Eq. 2-4), multi-head, pre-norm with a small FFN: object
  self-attention; reference-object enhancement, each reference frame separately attending to
  [itself, object features]; test-reference correlation, the test frame attending to
  [itself, all references].
- Spatial memory (3.3): the reference frames are the first memory entry (the first target frame,
  never dropped), the newest full working entries (FIFO: the bank consolidates the oldest) and
  the previous frame, at most ``references``; their tokens are stored next to the temporal key
  in each entry's key rows and average-pooled ``ref_pool``× for the association (CPU).
- Temporal memory (3.3): key = a projection of the test frame's association output (kept in the
  frame's stash by ``read_memory`` and stored by ``encode_memory``; a given frame, never read,
  is associated with itself), values = ID values from [frame, masks] per object. It is the bank,
  whose long-term part is evicted least-frequently-used.
- Object features (Eq. 5): max-pooled memorised ID values, projected, plus a learned embedding.
- ID association: L2 top-k readout of the ID values with the test key (shared readout); the
  decoder gets [readout, association output] (Eq. 1) with s8/s4 skips.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vos_core.config import ReadoutConfig
from vos_core.memory.bank import MemoryView
from vos_core.memory.entries import MemoryFeatures
from vos_core.models.base import FrameFeatures, RecentFrames
from vos_core.models.encoders.efficientnet_lite import EncoderFeatures
from vos_core.models.parts.attention import AttentionBlock
from vos_core.models.parts.blocks import Conv1x1, check_channels, sine_positions
from vos_core.models.parts.decoder import RefinementDecoder
from vos_core.models.parts.encoders import KeyProjection, MaskValueEncoder
from vos_core.models.parts.model import LearnedVosModel, StashFrameFeatures
from vos_core.models.readout import Affinity, ReadoutResult, affinity_readout


@dataclass(frozen=True)
class StmaConfig:
    """dim: token channels C; heads/blocks of the association; key_dim: temporal-memory key;
    value_dim: ID values; references: spatial-memory frames per readout; ref_pool: their pooling."""

    dim: int = 128
    heads: int = 4
    blocks: int = 2
    key_dim: int = 64
    value_dim: int = 128
    value_hidden: tuple[int, int, int] = (32, 64, 64)
    references: int = 3
    ref_pool: int = 2
    decoder: tuple[int, int, int] = (96, 48, 32)
    affinity: Affinity = "l2"


class AssociationBlock(nn.Module):
    """One spatial-temporal correlation block.

    test: 1×N×C, refs: list of 1×n_i×C, objects: 1×O×C, positions alike -> updated (test, refs, objects).
    """

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()

        def attn() -> AttentionBlock:
            return AttentionBlock(dim, d_k=dim, heads=heads, norm="pre", ffn=True)

        self.objects = attn()  # Eq. 2
        self.reference = attn()  # Eq. 3
        self.test = attn()  # Eq. 4

    def forward(
        self,
        test: torch.Tensor,
        test_pos: torch.Tensor,
        refs: list[torch.Tensor],
        ref_pos: list[torch.Tensor],
        objects: torch.Tensor,
    ) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
        objects, _ = self.objects(objects)
        no_pos = torch.zeros_like(objects)
        new_refs = []
        for r, p in zip(refs, ref_pos, strict=True):
            kv = torch.cat([r, objects], dim=1)
            r, _ = self.reference(r, kv=kv, pos_q=p, pos_k=torch.cat([p, no_pos], dim=1))
            new_refs.append(r)
        kv = torch.cat([test, *new_refs], dim=1)
        pos_k = torch.cat([test_pos, *ref_pos], dim=1)
        test, _ = self.test(test, kv=kv, pos_q=test_pos, pos_k=pos_k)
        return test, new_refs, objects


class StmaModel(LearnedVosModel):
    """Spatial-temporal multi-level association (registered as ``stma``)."""

    name = "stma"
    config_type = StmaConfig

    def build_heads(self, cfg: StmaConfig, channels: tuple[int, int, int]) -> None:
        c4, c8, c16 = channels
        self.tokens = Conv1x1(c16, cfg.dim)
        self.object_proj = nn.Linear(cfg.value_dim, cfg.dim)
        self.object_embed = nn.Parameter(torch.zeros(1, 1, cfg.dim))
        self.blocks = nn.ModuleList(AssociationBlock(cfg.dim, cfg.heads) for _ in range(cfg.blocks))
        self.id_key = KeyProjection(cfg.dim, cfg.key_dim)
        self.value_encoder = MaskValueEncoder((c4, c8, c16), cfg.value_dim, cfg.value_hidden)
        self.decoder = RefinementDecoder(cfg.value_dim + cfg.dim, (c4, c8), cfg.decoder)

    def frame_features(self, f: EncoderFeatures, image_hw: tuple[int, int]) -> FrameFeatures:
        tokens = self.tokens(f.s16)[0]  # C×h×w
        return StashFrameFeatures(key=tokens, fine_key=None, skips=(f.s4, f.s8, f.s16), image_hw=image_hw)

    # ----------------------------------------------------------------- association
    def _pool(self, grid: torch.Tensor) -> torch.Tensor:
        """C×h×w -> 1×n×C pooled tokens."""
        r = self.config.ref_pool
        g = grid[None] if r == 1 else F.avg_pool2d(grid[None], r, ceil_mode=True)
        return g.flatten(2).transpose(1, 2)

    def _objects(self, values: torch.Tensor) -> torch.Tensor:
        """O×C_v×M memorised ID values -> 1×O×C object features (Eq. 5: max pooling)."""
        check_channels("StmaModel ID values", values, self.config.value_dim)
        return (self.object_proj(values.amax(dim=2)) + self.object_embed[0])[None]

    def _associate(
        self, tokens: torch.Tensor, refs: list[torch.Tensor], objects: torch.Tensor
    ) -> torch.Tensor:
        """tokens: C×h×w (test frame), refs: C×h×w grids -> C×h×w association output."""
        c, h, w = tokens.shape
        pos = sine_positions((h, w), c, tokens.device)
        pos_grid = pos.t().reshape(c, h, w)
        test = tokens.flatten(1).t()[None]
        test_pos = pos[None]
        ref_tokens = [self._pool(r) for r in refs]
        ref_pos = [self._pool(pos_grid)] * len(refs)
        for block in self.blocks:
            test, ref_tokens, objects = block(test, test_pos, ref_tokens, ref_pos, objects)
        return test[0].t().reshape(c, h, w)

    def _references(self, bank: MemoryView | None, recent: Sequence[MemoryFeatures],
                    hw: tuple[int, int]) -> list[torch.Tensor]:
        """Spatial memory: first full entry + newest full entries + previous frame (C×h×w each)."""
        cfg = self.config
        kd, n = cfg.key_dim, hw[0] * hw[1]
        grids: list[torch.Tensor] = []
        if bank is not None:
            full = [(s, e) for _, s, e in bank.segments if e - s == n]
            budget = cfg.references - (1 if recent else 0)
            if len(full) > budget:
                full = full[:1] + (full[len(full) - (budget - 1) :] if budget > 1 else [])
            grids = [bank.key[kd:, s:e].reshape(-1, *hw) for s, e in full]
        if recent and recent[-1].hw == hw:
            grids.append(recent[-1].key[kd:].reshape(-1, *hw))
        return grids

    # ----------------------------------------------------------------- stages
    def encode_memory(self, frame: FrameFeatures, probs: torch.Tensor) -> MemoryFeatures:
        values = self.value_encoder(self.skips_of(frame), probs)  # O×C_v×h×w
        c, h, w = frame.key.shape
        stash = getattr(frame, "stash", {})
        key = stash.get("id_key")
        if key is None:  # a given frame: associate it with itself
            out = self._associate(frame.key, [frame.key], self._objects(values.flatten(2)))
            key = self.id_key(out[None])[0]
        full_key = torch.cat([key.flatten(1), frame.key.flatten(1)], dim=0)
        return MemoryFeatures(key=full_key, value=values.flatten(2), hw=(h, w))

    def read_memory(
        self, frame: FrameFeatures, bank: MemoryView | None, recent: RecentFrames, config: ReadoutConfig
    ) -> ReadoutResult:
        cfg = self.config
        c, h, w = frame.key.shape
        if bank is not None:
            values = bank.value
        elif recent:
            values = torch.cat([r.value for r in recent], dim=2)
        else:
            raise ValueError("STMA needs memory to read")
        refs = self._references(bank, recent, (h, w)) or [frame.key]
        out = self._associate(frame.key, refs, self._objects(values))
        key = self.id_key(out[None])[0]  # key_dim×h×w
        stash = getattr(frame, "stash", None)
        if stash is not None:
            stash["id_key"] = key
        readout = affinity_readout(key, bank, recent, config, cfg.affinity, key_channels=cfg.key_dim)
        o = readout.value.shape[0]
        value = torch.cat([readout.value, out[None].expand(o, -1, -1, -1)], dim=1)
        return ReadoutResult(value, readout.pixel_weight, readout.recent_share, readout.n_queries)

    def decode_logits(self, frame: FrameFeatures, readout: ReadoutResult) -> torch.Tensor:
        s4, s8, _ = self.skips_of(frame)
        return self.decoder.to_image(self.decoder(readout.value, s8, s4), frame.image_hw)
