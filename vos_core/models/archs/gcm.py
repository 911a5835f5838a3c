"""Seed 001: global context memory, channel-wise attention and mask embedding.

- Frames and masks are encoded independently: a frame's features F_T (= the local features L_F when
  it is the query) come from the frozen encoder + a 1×1 projection (C_N = 64) and are computed once;
  the mask encoder M_E(F_T, M) gives C_M = 128 values per object.
- Global context (3.2.3): a memory node contributes A_T = softmax_N(F_T) · M_Tᵀ, one C_M-vector per
  frame-feature channel (Eq. 1; the spatial softmax, as in GC, makes A_T a per-channel weighted
  average of mask features and keeps its scale independent of the frame size).
- **Where the context lives (explicit choice).** Every memory node is a bank entry whose "pixels"
  are the C_N rows of its A_T (key: C_N×C_N identity, value: O×C_M×C_N, hw=None). At readout
  G = the per-row mean of A over the entries in the bank, i.e. Eq. 2's running average
  G_T = A_T/T + (T-1)/T · G_{T-1} unrolled over the memory nodes the bank holds. Each entry is a few
  kB (C_N·(C_N + O·C_M) floats, independent of the frame size) and the bank's policy bounds their
  number, so memory does not grow with the video; the GUI sees, pins and evicts the nodes like any
  other entries. A consolidated (long-term) entry keeps its most used rows; G averages each row
  over the entries that still hold it.
- Distribution (3.2.4, Eq. 3): D_T = softmax_C(L_F) · G, summed with a projection of the current
  frame's features at each pixel.
- Channel-wise attention (3.3, Eq. 4-7) with a learned α ≥ 0 (softplus).
- Mask embedding (3.4, Eq. 8): the previous three masks (foreground and background each) and a
  3-channel position map through four conv+ReLU. Each memory entry keeps, at stride 8 in its
  ``fine_value`` (O×3×N₈), the mask history ending with its own mask: ``read_memory`` stashes the
  history it used in the frame's features and ``encode_memory`` appends the new mask, so the newest
  recent frame alone provides E^{i-3..i-1}, whatever the session's recent-frame settings (with a
  recent-frame gap they are the masks of the frames the session kept). A given frame without a
  history repeats its own mask.
- Decoder: the shared refinement decoder (STM's structure) on [CAM output, mask embedding].
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
from vos_core.models.parts.blocks import Conv1x1, check_channels, conv3x3, pool_masks, position_map
from vos_core.models.parts.decoder import RefinementDecoder
from vos_core.models.parts.encoders import KeyProjection, MaskValueEncoder
from vos_core.models.parts.model import LearnedVosModel, StashFrameFeatures
from vos_core.models.readout import ReadoutResult


@dataclass(frozen=True)
class GcmConfig:
    """key_dim: C_N; value_dim: C_M; mask_embed_dim: channels of the mask embedding;
    mask_history: previous masks fed to it; mask_stride: resolution they are kept at."""

    key_dim: int = 64
    value_dim: int = 128
    value_hidden: tuple[int, int, int] = (32, 64, 64)
    mask_embed_dim: int = 32
    mask_history: int = 3
    mask_stride: int = 8
    decoder: tuple[int, int, int] = (96, 48, 32)


class ChannelAttention(nn.Module):
    """CAM (Eq. 4-7): R = f₁f₂ (C×C channel relations, averaged over pixels), R' = softmax over i,
    f_R = f_in R', f_out = α f_R + f_in. x: B×C×h×w -> B×C×h×w."""

    def __init__(self, channels: int, alpha: float = 0.05) -> None:
        super().__init__()
        self.channels = channels
        self.alpha_raw = nn.Parameter(torch.tensor(float(torch.log(torch.expm1(torch.tensor(alpha))))))

    @property
    def alpha(self) -> torch.Tensor:
        return F.softplus(self.alpha_raw)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_channels("ChannelAttention", x, self.channels)
        f = x.flatten(2)  # B×C×N
        r = f @ f.transpose(1, 2) / f.shape[2]  # Eq. 4
        r = torch.softmax(r, dim=1)  # Eq. 5: normalised over i for each j
        f_r = torch.einsum("bin,bij->bjn", f, r)  # Eq. 6
        return x + self.alpha * f_r.view_as(x)  # Eq. 7


class MaskEmbedding(nn.Module):
    """MEM (Eq. 8): [E^{i-3}, E^{i-2}, E^{i-1}, P] through four conv+ReLU layers (stride 8 -> 16).

    masks: O×n×h8×w8 foreground probabilities -> O×C_e×h16×w16.
    """

    def __init__(self, history: int, out_dim: int) -> None:
        super().__init__()
        self.history = history
        self.net = nn.Sequential(
            conv3x3(2 * history + 3, 16), nn.ReLU(),
            conv3x3(16, 32, stride=2), nn.ReLU(),
            conv3x3(32, 32), nn.ReLU(),
            conv3x3(32, out_dim), nn.ReLU(),
        )

    def forward(self, masks: torch.Tensor, hw16: tuple[int, int]) -> torch.Tensor:
        check_channels("MaskEmbedding", masks, self.history)
        o = masks.shape[0]
        pos = position_map(tuple(masks.shape[-2:]), masks.device).expand(o, -1, -1, -1)
        x = torch.cat([masks, 1.0 - masks, pos], dim=1)
        y = self.net(x)
        if tuple(y.shape[-2:]) != hw16:
            y = F.interpolate(y, size=hw16, mode="bilinear", align_corners=False)
        return y


class GcmModel(LearnedVosModel):
    """Global context memory model (registered as ``gcm``)."""

    name = "gcm"
    config_type = GcmConfig

    def build_heads(self, cfg: GcmConfig, channels: tuple[int, int, int]) -> None:
        c4, c8, c16 = channels
        self.frame_proj = KeyProjection(c16, cfg.key_dim)
        self.value_encoder = MaskValueEncoder((c4, c8, c16), cfg.value_dim, cfg.value_hidden)
        self.current_value = Conv1x1(c16, cfg.value_dim)
        self.cam = ChannelAttention(cfg.value_dim)
        self.mask_embedding = MaskEmbedding(cfg.mask_history, cfg.mask_embed_dim)
        self.decoder = RefinementDecoder(cfg.value_dim + cfg.mask_embed_dim, (c4, c8), cfg.decoder)

    def frame_features(self, f: EncoderFeatures, image_hw: tuple[int, int]) -> FrameFeatures:
        key = self.frame_proj(f.s16)[0]  # C_N×h×w
        return StashFrameFeatures(key=key, fine_key=None, skips=(f.s4, f.s8, f.s16), image_hw=image_hw)

    def _mask_hw(self, frame: FrameFeatures) -> tuple[int, int]:
        s = self.config.mask_stride
        h, w = frame.image_hw
        return (h + s - 1) // s, (w + s - 1) // s

    def encode_memory(self, frame: FrameFeatures, probs: torch.Tensor) -> MemoryFeatures:
        c_n = self.config.key_dim
        feats = torch.softmax(frame.key.flatten(1), dim=1)  # C_N×N, a distribution per channel
        values = self.value_encoder(self.skips_of(frame), probs).flatten(2)  # O×C_M×N
        context = torch.einsum("cn,omn->omc", feats, values)  # Eq. 1: O×C_M×C_N
        eye = torch.eye(c_n, device=context.device, dtype=context.dtype)
        mhw = self._mask_hw(frame)
        mask = pool_masks(probs, mhw)  # O×1×h8×w8
        history = getattr(frame, "stash", {}).get("mask_history")
        if history is None or history.shape[0] != mask.shape[0]:
            history = mask.expand(-1, self.config.mask_history, -1, -1)
        masks = torch.cat([history[:, 1:], mask], dim=1).flatten(2)  # O×n×N8, oldest first
        return MemoryFeatures(key=eye, value=context, hw=None, fine_key=None, fine_value=masks, fine_hw=mhw)

    def _global_context(
        self, bank: MemoryView | None, recent: Sequence[MemoryFeatures], o: int, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """-> (G: O×C_M×C_N running average of the memory nodes, key rows C_N×M of the bank or None)."""
        c_n, c_m = self.config.key_dim, self.config.value_dim
        if bank is not None:
            key, value = bank.key, bank.value
        elif recent:
            key = torch.cat([r.key for r in recent], dim=1)
            value = torch.cat([r.value for r in recent], dim=2)
        else:
            return torch.zeros(o, c_m, c_n, device=device), None
        check_channels("GcmModel memory key", key, c_n, dim=0)
        counts = key.sum(dim=1).clamp(min=1.0)  # C_N
        g = torch.einsum("cm,ovm->ovc", key, value) / counts  # Eq. 2 unrolled
        return g, (key if bank is not None else None)

    def _mask_history(self, recent: Sequence[MemoryFeatures], o: int, hw: tuple[int, int],
                      device: torch.device) -> torch.Tensor:
        n = self.config.mask_history
        for r in reversed(recent):
            fv = r.fine_value
            if fv is not None and r.fine_hw == hw and fv.shape[0] == o and fv.shape[1] == n:
                return fv.reshape(o, n, *hw)
        return torch.zeros(o, n, *hw, device=device)

    def read_memory(
        self, frame: FrameFeatures, bank: MemoryView | None, recent: RecentFrames, config: ReadoutConfig
    ) -> ReadoutResult:
        c_n, h, w = frame.key.shape
        o = bank.value.shape[0] if bank is not None else (recent[-1].value.shape[0] if recent else 0)
        g, key = self._global_context(bank, recent, o, frame.key.device)
        local = torch.softmax(frame.key.flatten(1), dim=0)  # C_N×N, each pixel over channels
        d = torch.einsum("ovc,cn->ovn", g, local).reshape(o, -1, h, w)  # Eq. 3
        out = self.cam(d + self.current_value(self.skips_of(frame)[2]))
        history = self._mask_history(recent, o, self._mask_hw(frame), frame.key.device)
        stash = getattr(frame, "stash", None)
        if stash is not None:
            stash["mask_history"] = history
        value = torch.cat([out, self.mask_embedding(history, (h, w))], dim=1)
        pixel_weight = None
        if key is not None:
            per_channel = local.sum(dim=1) / key.sum(dim=1).clamp(min=1.0)  # C_N
            pixel_weight = (key.t() @ per_channel).detach()  # M: each node's share of each channel
        return ReadoutResult(value, pixel_weight, 0.0, h * w)

    def decode_logits(self, frame: FrameFeatures, readout: ReadoutResult) -> torch.Tensor:
        s4, s8, _ = self.skips_of(frame)
        return self.decoder.to_image(self.decoder(readout.value, s8, s4), frame.image_hw)
