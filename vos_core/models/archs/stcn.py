"""STCN-style baseline: keys from the frame alone, per-object values from frame + mask.

- keys, values and the query projection: the shared :class:`KeyValueModel` heads (keys: 1×1
  projection of the stride-16 features, C_k = 64; values: frame features + the object's mask + the
  other objects' masks);
- readout: negative squared L2 affinity, top-k softmax over the bank (global) and a local window
  over the recent frames, through the shared :func:`fused_readout`;
- decoder: readout values concatenated with a projection of the query's own features, refined with
  s8/s4 skips to stride-4 logits, bilinear to full size.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vos_core.config import ReadoutConfig
from vos_core.memory.bank import MemoryView
from vos_core.models.base import FrameFeatures, RecentFrames
from vos_core.models.parts.decoder import RefinementDecoder
from vos_core.models.parts.key_value import KeyValueConfig, KeyValueModel
from vos_core.models.readout import ReadoutResult, affinity_readout


@dataclass(frozen=True)
class StcnConfig(KeyValueConfig):
    """The shared key/value widths (:class:`KeyValueConfig`) and tuned_blocks: last blocks of the
    encoder's stride-16 stage fine-tuned with the heads (0 = frozen)."""

    tuned_blocks: int = 3


class StcnModel(KeyValueModel):
    """The STCN-style baseline (registered as ``stcn``)."""

    name = "stcn"
    config_type = StcnConfig

    def build_heads(self, cfg: StcnConfig, channels: tuple[int, int, int]) -> None:
        super().build_heads(cfg, channels)
        c4, c8, _ = channels
        self.decoder = RefinementDecoder(cfg.value_dim + cfg.query_dim, (c4, c8), cfg.decoder)

    def read_memory(
        self, frame: FrameFeatures, bank: MemoryView | None, recent: RecentFrames, config: ReadoutConfig
    ) -> ReadoutResult:
        return affinity_readout(frame.key, bank, recent, config, self.config.affinity)

    def decode_logits(self, frame: FrameFeatures, readout: ReadoutResult) -> torch.Tensor:
        s4, s8, _ = self.skips_of(frame)
        o = readout.value.shape[0]
        query = self.query(frame).expand(o, -1, -1, -1)
        x = torch.cat([readout.value, query], dim=1)
        return self.decoder.to_image(self.decoder(x, s8, s4), frame.image_hw)
