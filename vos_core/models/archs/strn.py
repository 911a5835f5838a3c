"""Seed 004: space-time reinforcement on the STCN baseline.

- Global memory: STCN keys/values and L2 top-k readout over the bank (II, Eq. 1).
- Local memory: the adjacent frame's key and value: the newest of the session's recent frames
  (the previous frame, or up to ``recent_gap`` - 1 frames older when the session keeps a gap).
- Feature alignment module (II-B): a light separable conv on [query key, adjacent key] predicts
  offsets of a regular grid; bilinear sampling of the adjacent value at the shifted grid gives the
  auxiliary frame's value (Eq. 2-3); a 3×3 conv on [auxiliary value, query features] predicts the
  sampling offsets and modulation of a modulated deformable conv (Eq. 4) that turns it into the
  local feature (Eq. 5). Offsets start at zero (identity alignment).
- Prototype transformer module (II-C): initial prototypes pool the memory values with a 2-layer
  d-dimensional MLP weighted by a 2-layer MLP score softmaxed over memory pixels (Eq. 6; the value
  encoder already saw the masks: early fusion); the initial pixel feature is the fused
  [global readout, local feature, query features] through a 1×1 conv, CBAM and two ResBlocks
  (Eq. 7). Three iterations update prototypes from pixels and pixels from prototypes by
  cross-attention with position embeddings on the keys (Eq. 8-9), then an activation network
  (two 3×3 convs + channel attention) on [pixels, prototypes spread over the pixels, similarity]
  (Eq. 10). The module's weights are shared by the iterations.
- Decoder: the shared refinement decoder on [final pixel feature, global readout].
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vos_core.config import ReadoutConfig
from vos_core.memory.bank import MemoryView
from vos_core.models.base import FrameFeatures, RecentFrames
from vos_core.models.parts.attention import AttentionBlock
from vos_core.models.parts.blocks import (
    CBAM,
    ChannelGate,
    Conv1x1,
    ResBlock,
    SeparableConv,
    check_channels,
    conv3x3,
    sine_positions,
)
from vos_core.models.parts.decoder import RefinementDecoder
from vos_core.models.parts.deform import ModulatedDeformConv2d, flow_warp
from vos_core.models.parts.key_value import KeyValueConfig, KeyValueModel
from vos_core.models.readout import ReadoutResult, affinity_readout


@dataclass(frozen=True)
class StrnConfig(KeyValueConfig):
    """The shared key/value widths (:class:`KeyValueConfig`) plus pixel_dim (d of pixel features and
    prototypes), prototypes per object, PTM iterations and the deformable kernel size."""

    pixel_dim: int = 64
    prototypes: int = 1
    iterations: int = 3
    kernel: int = 3


class FeatureAlignment(nn.Module):
    """FAM: adjacent-frame value aligned to the query -> local feature.

    q_key, adj_key: 1×C_k×h×w; adj_value: O×C_v×h×w; query: 1×C_q×h×w -> O×C_v×h×w.
    """

    def __init__(self, key_dim: int, value_dim: int, query_dim: int, kernel: int = 3) -> None:
        super().__init__()
        self.key_dim, self.value_dim, self.kernel = key_dim, value_dim, kernel
        self.flow = SeparableConv(2 * key_dim, 2, kernel=3)
        nn.init.zeros_(self.flow.pointwise.weight)
        nn.init.zeros_(self.flow.pointwise.bias)
        self.dcn_params = conv3x3(value_dim + query_dim, 3 * kernel * kernel)
        nn.init.zeros_(self.dcn_params.weight)
        nn.init.zeros_(self.dcn_params.bias)
        self.dcn = ModulatedDeformConv2d(value_dim, value_dim, kernel)

    def forward(self, q_key: torch.Tensor, adj_key: torch.Tensor, adj_value: torch.Tensor,
                query: torch.Tensor) -> torch.Tensor:
        check_channels("FeatureAlignment value", adj_value, self.value_dim)
        flow = self.flow(torch.cat([q_key, adj_key], dim=1))  # 1×2×h×w grid offsets
        aux = flow_warp(adj_value, flow)  # Eq. 2-3: the auxiliary frame's value
        o = aux.shape[0]
        params = self.dcn_params(torch.cat([aux, query.expand(o, -1, -1, -1)], dim=1))  # Eq. 4
        k2 = self.kernel * self.kernel
        return self.dcn(aux, params[:, : 2 * k2], torch.sigmoid(params[:, 2 * k2 :]))  # Eq. 5


def _mlp(cin: int, hidden: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(cin, hidden), nn.ReLU(), nn.Linear(hidden, cout))


class PrototypeTransformer(nn.Module):
    """PTM: prototypes and pixel features refined together.

    pixels: O×C_in×h×w, memory values O×C_v×M -> O×d×h×w.
    """

    def __init__(
        self, in_dim: int, value_dim: int, dim: int, prototypes: int = 1, iterations: int = 3
    ) -> None:
        super().__init__()
        self.in_dim, self.value_dim, self.dim = in_dim, value_dim, dim
        self.prototypes, self.iterations = prototypes, iterations
        self.token_mlp = _mlp(value_dim, dim, dim)  # Eq. 6: d-dimensional MLP
        self.score_mlp = _mlp(value_dim, dim, prototypes)  # Eq. 6: 1-dimensional MLP per prototype
        self.pixel_init = nn.Sequential(
            Conv1x1(in_dim, dim), CBAM(dim), ResBlock(dim, dim), ResBlock(dim, dim)
        )
        self.proto_pos = nn.Parameter(torch.zeros(1, prototypes, dim))
        nn.init.normal_(self.proto_pos, std=0.02)
        self.update_protos = AttentionBlock(dim, d_k=dim, heads=1, norm="post")  # Eq. 8
        self.update_pixels = AttentionBlock(dim, d_k=dim, heads=1, norm="post")  # Eq. 9
        self.activate = nn.Sequential(  # Eq. 10
            conv3x3(2 * dim + prototypes, dim), nn.ReLU(), conv3x3(dim, dim), ChannelGate(dim)
        )

    def initial_prototypes(self, memory_value: torch.Tensor) -> torch.Tensor:
        """O×C_v×M -> O×K×d."""
        check_channels("PrototypeTransformer memory", memory_value, self.value_dim)
        v = memory_value.transpose(1, 2)  # O×M×C_v
        weights = torch.softmax(self.score_mlp(v), dim=1)  # O×M×K
        return weights.transpose(1, 2) @ self.token_mlp(v)  # O×K×d

    def forward(self, pixels: torch.Tensor, memory_value: torch.Tensor) -> torch.Tensor:
        o, _, h, w = pixels.shape
        x = self.pixel_init(pixels)  # Eq. 7
        protos = self.initial_prototypes(memory_value)
        pos = sine_positions((h, w), self.dim, pixels.device)[None]  # 1×N×d
        for _ in range(self.iterations):
            tokens = x.flatten(2).transpose(1, 2)  # O×N×d
            protos, _ = self.update_protos(protos, kv=tokens, pos_k=pos)
            tokens, _ = self.update_pixels(tokens, kv=protos, pos_q=pos, pos_k=self.proto_pos)
            x = tokens.transpose(1, 2).reshape(o, self.dim, h, w)
            sim = torch.einsum("odn,okd->okn", F.normalize(x.flatten(2), dim=1), F.normalize(protos, dim=2))
            mix = torch.einsum("okn,okd->odn", torch.softmax(sim / 0.1, dim=1), protos)
            spread = torch.cat([x, mix.view(o, self.dim, h, w), sim.view(o, -1, h, w)], dim=1)
            x = x + self.activate(spread)
        return x


class StrnModel(KeyValueModel):
    """Space-time reinforcement network (registered as ``strn``)."""

    name = "strn"
    config_type = StrnConfig

    def build_heads(self, cfg: StrnConfig, channels: tuple[int, int, int]) -> None:
        super().build_heads(cfg, channels)
        c4, c8, _ = channels
        self.align = FeatureAlignment(cfg.key_dim, cfg.value_dim, cfg.query_dim, cfg.kernel)
        self.ptm = PrototypeTransformer(2 * cfg.value_dim + cfg.query_dim, cfg.value_dim, cfg.pixel_dim,
                                        cfg.prototypes, cfg.iterations)
        self.decoder = RefinementDecoder(cfg.pixel_dim + cfg.value_dim, (c4, c8), cfg.decoder)

    def read_memory(
        self, frame: FrameFeatures, bank: MemoryView | None, recent: RecentFrames, config: ReadoutConfig
    ) -> ReadoutResult:
        c, h, w = frame.key.shape
        query = self.query(frame)
        # global memory: the bank (recent frames stand in when the bank is empty)
        glob = affinity_readout(
            frame.key, bank, recent, config, self.config.affinity, use_recent=bank is None
        )
        o = glob.value.shape[0]
        adjacent = next((r for r in reversed(recent) if r.hw == (h, w) and r.n_objects == o), None)
        if adjacent is not None:
            adj_key = adjacent.key.reshape(1, c, h, w)
            adj_value = adjacent.value.reshape(o, -1, h, w)
            local = self.align(frame.key[None], adj_key, adj_value, query)
        else:
            local = glob.value
        if bank is not None:
            memory_value = bank.value
        elif recent:
            memory_value = torch.cat([r.value for r in recent], dim=2)
        else:
            memory_value = glob.value.flatten(2)
        pixels = torch.cat([glob.value, local, query.expand(o, -1, -1, -1)], dim=1)
        x = self.ptm(pixels, memory_value)
        value = torch.cat([x, glob.value], dim=1)
        return ReadoutResult(value, glob.pixel_weight, glob.recent_share, glob.n_queries)

    def decode_logits(self, frame: FrameFeatures, readout: ReadoutResult) -> torch.Tensor:
        s4, s8, _ = self.skips_of(frame)
        return self.decoder.to_image(self.decoder(readout.value, s8, s4), frame.image_hw)
