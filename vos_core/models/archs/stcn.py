"""STCN-style baseline: keys from the frame alone, per-object values from frame + mask.

- keys: 1×1 projection of the frozen stride-16 features (C_k = 64), shared by query and memory
  (a frame is encoded once and reused as memory);
- values: :class:`MaskValueEncoder` (frame features + the object's mask + the other objects' masks);
- readout: negative squared L2 affinity, top-k softmax over the bank (global) and a local window
  over the recent frames, through the shared :func:`fused_readout`;
- decoder: readout values concatenated with a projection of the query's own features, refined with
  s8/s4 skips to stride-4 logits, bilinear to full size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from vos_core.config import ReadoutConfig
from vos_core.memory.bank import MemoryView
from vos_core.memory.entries import MemoryFeatures
from vos_core.models.base import FrameFeatures
from vos_core.models.encoders.efficientnet_lite import EncoderFeatures
from vos_core.models.encoders.runner import FrozenEncoder
from vos_core.models.parts.blocks import Conv1x1
from vos_core.models.parts.decoder import RefinementDecoder
from vos_core.models.parts.encoders import KeyProjection, MaskValueEncoder
from vos_core.models.parts.model import LearnedVosModel
from vos_core.models.parts.readout import Affinity, affinity_readout
from vos_core.models.readout.affinity import ReadoutResult


@dataclass(frozen=True)
class StcnConfig:
    """key_dim: C_k; value_dim: C_v; query_dim: channels of the query projection fed to the decoder;
    value_hidden / decoder: channel widths of the value encoder (s4, s8, s16) and decoder (s16, s8, s4);
    tuned_blocks: last blocks of the encoder's stride-16 stage fine-tuned with the heads (0 = frozen)."""

    key_dim: int = 64
    value_dim: int = 128
    query_dim: int = 64
    value_hidden: tuple[int, int, int] = (32, 64, 64)
    decoder: tuple[int, int, int] = (96, 48, 32)
    affinity: Affinity = "l2"
    tuned_blocks: int = 3


class StcnModel(LearnedVosModel):
    """The STCN-style baseline (registered as ``stcn``)."""

    name = "stcn"

    def __init__(self, encoder: FrozenEncoder, config: StcnConfig | None = None) -> None:
        cfg = config or StcnConfig()
        super().__init__(encoder, tuned_blocks=cfg.tuned_blocks)
        self.config = cfg
        c4, c8, c16 = self.feature_channels
        self.key_proj = KeyProjection(c16, cfg.key_dim)
        self.query_proj = Conv1x1(c16, cfg.query_dim)
        self.value_encoder = MaskValueEncoder((c4, c8, c16), cfg.value_dim, cfg.value_hidden)
        self.decoder = RefinementDecoder(cfg.value_dim + cfg.query_dim, (c4, c8), cfg.decoder)

    def frame_features(self, f: EncoderFeatures, image_hw: tuple[int, int]) -> FrameFeatures:
        key = self.key_proj(f.s16)[0]  # C_k×h×w
        return FrameFeatures(key=key, fine_key=key, skips=(f.s4, f.s8, f.s16), image_hw=image_hw)

    def encode_memory(self, frame: FrameFeatures, probs: torch.Tensor) -> MemoryFeatures:
        value = self.value_encoder(self.skips_of(frame), probs)  # O×C_v×h×w
        h, w = frame.key.shape[-2:]
        return MemoryFeatures(key=frame.key.flatten(1), value=value.flatten(2), hw=(int(h), int(w)))

    def read_memory(
        self,
        frame: FrameFeatures,
        bank: MemoryView | None,
        recent: Sequence[MemoryFeatures],
        config: ReadoutConfig,
    ) -> ReadoutResult:
        return affinity_readout(frame.key, bank, recent, config, self.config.affinity)

    def decode_logits(self, frame: FrameFeatures, readout: ReadoutResult) -> torch.Tensor:
        s4, s8, s16 = self.skips_of(frame)
        o = readout.value.shape[0]
        query = self.query_proj(s16).expand(o, -1, -1, -1)
        x = torch.cat([readout.value, query], dim=1)
        return self.decoder.to_image(self.decoder(x, s8, s4), frame.image_hw)
