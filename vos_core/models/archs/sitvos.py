"""Seed 003: Siamese interactive transformer.

- Siamese encoder (3.2): past and current frames share the frozen encoder and one 1×1 embedding to
  C = 256 channels at stride 16 (a frame is embedded once and reused as memory); a light mask
  encoder turns each object's mask into a C-channel mask embedding M_E.
- Interactive transformer (3.3), single head, d_k = 64, W^V ∈ C×C, no feed-forward network,
  residual + LayerNorm: encoder self-attention over the memory embeddings M_ori -> M_SA; decoder
  self-attention over the query embeddings -> Q_SA; feature interaction module: M_out =
  LN(Attn(M_SA, Q_SA, Q_SA) + M_SA) (Eq. 3) and Q_out = LN(Attn(Q_SA, M_SA, M_E ⊙ M_ori) + Q_SA)
  (Eq. 4, per object); final cross-attention T_out = LN(Attn(Q_out, M_out, M_out) + Q_out) (Eq. 2).
- Decoder (3.4): the shared refinement decoder (conv + residual block, two ×2 refinement stages
  with s8/s4 skips, stride-4 logits, bilinear to full size); narrower than the paper's 256.
- Memory frames (3.5): at most N = 7: the first memory entry (the first given mask), the previous
  frame (the newest recent frame of the session), and bank entries evenly spread over the rest
  when there are more.
- CPU deviation: memory tokens are average-pooled ``memory_pool``×``memory_pool`` when they are
  stored (2 by default: 4× fewer memory tokens in every attention; 1 = the paper).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from vos_core.config import ReadoutConfig
from vos_core.memory.bank import MemoryView
from vos_core.memory.entries import MemoryFeatures
from vos_core.models.base import FrameFeatures, RecentFrames
from vos_core.models.encoders.efficientnet_lite import EncoderFeatures
from vos_core.models.parts.attention import AttentionBlock
from vos_core.models.parts.blocks import Conv1x1, check_channels
from vos_core.models.parts.decoder import RefinementDecoder
from vos_core.models.parts.encoders import MaskEncoder
from vos_core.models.parts.model import LearnedVosModel
from vos_core.models.readout import ReadoutResult


@dataclass(frozen=True)
class SitvosConfig:
    """dim: C; key_dim: d_k; memory_frames: N; memory_pool: pooling of stored memory tokens."""

    dim: int = 256
    key_dim: int = 64
    memory_frames: int = 7
    memory_pool: int = 2
    mask_hidden: tuple[int, int, int] = (16, 32, 64)
    decoder: tuple[int, int, int] = (96, 48, 32)


@dataclass(frozen=True)
class _Selected:
    key: torch.Tensor  # C×n
    value: torch.Tensor  # O×C×n
    bank_range: tuple[int, int] | None  # where these tokens sit in the bank view


def select_memory(
    bank: MemoryView | None, recent: Sequence[MemoryFeatures], n_frames: int
) -> list[_Selected]:
    """First bank entry + previous frame + evenly spread bank entries, at most ``n_frames``."""
    previous = recent[-1] if recent else None
    segments = list(bank.segments) if bank is not None else []
    budget = n_frames - (1 if previous is not None else 0)
    if len(segments) > budget:
        rest = segments[1:]
        k = budget - 1
        picks = np.linspace(0, len(rest) - 1, k).round().astype(int) if k > 0 else []
        segments = segments[:1] + [rest[i] for i in sorted(set(int(p) for p in picks))]
    chosen = []
    for _entry, start, end in segments:
        assert bank is not None
        chosen.append(_Selected(bank.key[:, start:end], bank.value[:, :, start:end], (start, end)))
    if previous is not None:
        chosen.append(_Selected(previous.key, previous.value, None))
    return chosen


class SitvosModel(LearnedVosModel):
    """Siamese interactive transformer (registered as ``sitvos``)."""

    name = "sitvos"
    config_type = SitvosConfig

    def build_heads(self, cfg: SitvosConfig, channels: tuple[int, int, int]) -> None:
        c4, c8, c16 = channels
        self.embed = Conv1x1(c16, cfg.dim)
        self.mask_encoder = MaskEncoder(cfg.dim, in_masks=1, hidden=cfg.mask_hidden)

        def block() -> AttentionBlock:
            return AttentionBlock(cfg.dim, d_k=cfg.key_dim, heads=1, norm="post", ffn=False, out_proj=False)

        self.encoder_sa = block()
        self.decoder_sa = block()
        self.fim_memory = block()  # Eq. 3
        self.fim_query = block()  # Eq. 4
        self.final_ca = block()  # Eq. 2
        self.decoder = RefinementDecoder(cfg.dim, (c4, c8), cfg.decoder)

    def frame_features(self, f: EncoderFeatures, image_hw: tuple[int, int]) -> FrameFeatures:
        emb = self.embed(f.s16)[0]  # C×h×w
        return FrameFeatures(key=emb, fine_key=None, skips=(f.s4, f.s8, f.s16), image_hw=image_hw)

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        r = self.config.memory_pool
        return x if r == 1 else F.avg_pool2d(x, r, ceil_mode=True)

    def encode_memory(self, frame: FrameFeatures, probs: torch.Tensor) -> MemoryFeatures:
        h, w = frame.key.shape[-2:]
        m_ori = self._pool(frame.key[None])[0]  # C×h'×w'
        m_e = self._pool(self.mask_encoder(probs, (int(h), int(w))))  # O×C×h'×w'
        hw = (int(m_ori.shape[1]), int(m_ori.shape[2]))
        return MemoryFeatures(key=m_ori.flatten(1), value=m_e.flatten(2), hw=hw)

    def read_memory(
        self, frame: FrameFeatures, bank: MemoryView | None, recent: RecentFrames, config: ReadoutConfig
    ) -> ReadoutResult:
        c, h, w = frame.key.shape
        chosen = select_memory(bank, recent, self.config.memory_frames)
        if not chosen:
            raise ValueError("SITVOS needs at least one memory frame")
        m_ori = torch.cat([s.key for s in chosen], dim=1).t()[None]  # 1×Nm×C
        check_channels("SITVOS memory", m_ori, c, dim=2)
        m_e = torch.cat([s.value for s in chosen], dim=2).transpose(1, 2)  # O×Nm×C
        o = m_e.shape[0]
        q_ori = frame.key.flatten(1).t()[None]  # 1×N×C
        m_sa, _ = self.encoder_sa(m_ori)
        q_sa, _ = self.decoder_sa(q_ori)
        m_out, _ = self.fim_memory(m_sa, kv=q_sa)  # Eq. 3
        m_x = m_e * m_ori  # mask embedding filters the memory values
        q_out, usage = self.fim_query(q_sa.expand(o, -1, -1), kv=m_sa.expand(o, -1, -1), value=m_x,
                                      with_weights=bank is not None)  # Eq. 4
        t_out, _ = self.final_ca(q_out, kv=m_out.expand(o, -1, -1))  # Eq. 2
        value = t_out.transpose(1, 2).reshape(o, c, h, w)
        pixel_weight = None
        if bank is not None and usage is not None:
            usage = usage.detach().mean(dim=0)  # Nm, summed over query pixels
            pixel_weight = torch.zeros(bank.size, device=usage.device)
            start = 0
            for s in chosen:
                n = s.key.shape[1]
                if s.bank_range is not None:
                    pixel_weight[s.bank_range[0] : s.bank_range[1]] += usage[start : start + n]
                start += n
        recent_share: float | torch.Tensor = 0.0
        if usage is not None and chosen[-1].bank_range is None:
            recent_share = usage[-chosen[-1].key.shape[1] :].sum() / usage.sum().clamp(min=1e-12)
        return ReadoutResult(value, pixel_weight, recent_share, h * w)

    def decode_logits(self, frame: FrameFeatures, readout: ReadoutResult) -> torch.Tensor:
        s4, s8, _ = self.skips_of(frame)
        return self.decoder.to_image(self.decoder(readout.value, s8, s4), frame.image_hw)
