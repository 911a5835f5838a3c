"""The STCN key/value heads shared by ``stcn`` and ``strn``.

- keys: 1×1 projection of the stride-16 features (C_k), shared by query and memory (a frame is
  encoded once and reused as memory);
- values: :class:`MaskValueEncoder` of the frame features and the object masks (C_v);
- a 1×1 projection of the query's own stride-16 features (C_q), for the decoder.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vos_core.memory.entries import MemoryFeatures
from vos_core.models.base import FrameFeatures
from vos_core.models.encoders.efficientnet_lite import EncoderFeatures
from vos_core.models.parts.blocks import Conv1x1
from vos_core.models.parts.encoders import KeyProjection, MaskValueEncoder
from vos_core.models.parts.model import LearnedVosModel
from vos_core.models.readout import Affinity


@dataclass(frozen=True)
class KeyValueConfig:
    """key_dim: C_k; value_dim: C_v; query_dim: channels of the query projection fed to the decoder;
    value_hidden / decoder: channel widths of the value encoder (s4, s8, s16) and decoder (s16, s8, s4);
    affinity: how query and memory keys are compared."""

    key_dim: int = 64
    value_dim: int = 128
    query_dim: int = 64
    value_hidden: tuple[int, int, int] = (32, 64, 64)
    decoder: tuple[int, int, int] = (96, 48, 32)
    affinity: Affinity = "l2"


class KeyValueModel(LearnedVosModel):
    """A learned model with STCN's key, value and query heads (``key_proj``, ``query_proj``,
    ``value_encoder``); subclasses add their readout and decoder."""

    def build_heads(self, cfg: KeyValueConfig, channels: tuple[int, int, int]) -> None:
        c16 = channels[2]
        self.key_proj = KeyProjection(c16, cfg.key_dim)
        self.query_proj = Conv1x1(c16, cfg.query_dim)
        self.value_encoder = MaskValueEncoder(channels, cfg.value_dim, cfg.value_hidden)

    def frame_features(self, f: EncoderFeatures, image_hw: tuple[int, int]) -> FrameFeatures:
        key = self.key_proj(f.s16)[0]  # C_k×h×w
        return FrameFeatures(key=key, fine_key=key, skips=(f.s4, f.s8, f.s16), image_hw=image_hw)

    def encode_memory(self, frame: FrameFeatures, probs: torch.Tensor) -> MemoryFeatures:
        value = self.value_encoder(self.skips_of(frame), probs)  # O×C_v×h×w
        h, w = frame.key.shape[-2:]
        return MemoryFeatures(key=frame.key.flatten(1), value=value.flatten(2), hw=(int(h), int(w)))

    def query(self, frame: FrameFeatures) -> torch.Tensor:
        """The query's own features for the decoder: 1×C_q×h×w."""
        return self.query_proj(self.skips_of(frame)[2])
