"""Common base of the trained architectures (heads on the ImageNet EfficientNet-Lite0
backbone: frozen, but for the last ``tuned_blocks`` stride-16 blocks a model fine-tunes).

Stage methods keep :class:`VosModel`'s contract. Additions, used by training:
- ``encode_frame(rgb, features=...)`` accepts the encoder features when they were already computed
  (training runs the encoder once per clip in one batch);
- ``decode_logits`` returns O×H×W logits; ``decode`` is their sigmoid.
Skips are ``(s4, s8, s16)``, each 1×C×h'×w', for every trained architecture.

``tuned_blocks = n > 0`` fine-tunes the last n blocks of the encoder's stride-16 stage: the model gets
its own copy of the ImageNet encoder whose last n blocks are the model's submodule ``tuned`` (saved
with the heads, batch norm frozen); the rest of the encoder stays frozen at its ImageNet weights.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from vos_core.models.base import FrameFeatures, VosModel
from vos_core.models.encoders.efficientnet_lite import EfficientNetLite, EncoderFeatures
from vos_core.models.encoders.runner import FrozenEncoder
from vos_core.models.parts.backbone import Backbone
from vos_core.models.readout import ReadoutResult


@dataclass(frozen=True)
class StashFrameFeatures(FrameFeatures):
    """FrameFeatures with a per-frame scratch dict: what ``read_memory`` derived for this frame
    (e.g. STMA's association output) and ``encode_memory`` reuses for the same frame."""

    stash: dict[str, torch.Tensor] = field(default_factory=dict, compare=False)


class LearnedVosModel(VosModel):
    """Heads on the shared backbone; subclasses implement the stages and ``decode_logits``."""

    trained = False
    exclusive = False
    coarse_stride = 16
    fine_stride = 16
    #: learned stride-16 keys need a grid of some size: tiny videos are processed upscaled
    #: (a 64×48 video would be a 4×3 grid; trained on crops of 256)
    min_process_height = 240

    #: the architecture's config dataclass (its registry spec builds the model with one)
    config_type: type = object

    def __init__(self, encoder: FrozenEncoder, config: object | None = None) -> None:
        """config: an instance of ``config_type`` (None: its defaults); its ``tuned_blocks`` (if
        any, default 0) last stride-16 encoder blocks are fine-tuned with the heads. The heads are
        then made by :meth:`build_heads`."""
        super().__init__()
        self.config = config = config if config is not None else self.config_type()
        self.tuned_blocks = tuned_blocks = int(getattr(config, "tuned_blocks", 0))
        if tuned_blocks > 0:
            encoder, self.tuned = _tuned_copy(encoder, tuned_blocks)
            self.backbone = Backbone(encoder, grad_from=encoder.net.end_s16 - tuned_blocks)
        else:
            self.backbone = Backbone(encoder)
        self.build_heads(config, self.feature_channels)

    @abstractmethod
    def build_heads(self, cfg: Any, channels: tuple[int, int, int]) -> None:
        """Make the architecture's modules from its config and the (s4, s8, s16) encoder channels."""

    def train(self, mode: bool = True) -> LearnedVosModel:
        super().train(mode)
        if self.tuned_blocks:
            self.tuned.eval()  # batch-norm statistics of the fine-tuned blocks stay frozen
            self.backbone.refresh()
        return self

    def _load_from_state_dict(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - nn.Module hook
        super()._load_from_state_dict(*args, **kwargs)
        if self.tuned_blocks:
            self.backbone.refresh()

    @property
    def feature_channels(self) -> tuple[int, int, int]:
        """(s4, s8, s16) channels of the backbone."""
        return self.backbone.channels

    def encode_frame(self, rgb: torch.Tensor, features: EncoderFeatures | None = None) -> FrameFeatures:
        """rgb: 1×3×H×W in [0, 255]; features: its encoder features (1×C×h'×w' each) if known."""
        if rgb.dim() != 4 or rgb.shape[0] != 1 or rgb.shape[1] != 3:
            raise ValueError(f"encode_frame expects 1×3×H×W RGB, got shape {tuple(rgb.shape)}")
        f = features if features is not None else self.backbone(rgb)
        self.backbone.check(f)
        return self.frame_features(f, (int(rgb.shape[2]), int(rgb.shape[3])))

    @abstractmethod
    def frame_features(self, f: EncoderFeatures, image_hw: tuple[int, int]) -> FrameFeatures:
        """Encoder features of one frame -> this architecture's FrameFeatures."""

    @abstractmethod
    def decode_logits(self, frame: FrameFeatures, readout: ReadoutResult) -> torch.Tensor:
        """-> O×H×W object logits at the processing resolution."""

    def decode(self, frame: FrameFeatures, readout: ReadoutResult) -> torch.Tensor:
        return torch.sigmoid(self.decode_logits(frame, readout))

    @staticmethod
    def skips_of(frame: FrameFeatures) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if len(frame.skips) < 3:
            raise ValueError("frame features carry no (s4, s8, s16) skips: encoded by another model?")
        return frame.skips[0], frame.skips[1], frame.skips[2]


def _tuned_copy(encoder: FrozenEncoder, n: int) -> tuple[FrozenEncoder, nn.ModuleList]:
    """A private copy of ``encoder`` whose last ``n`` stride-16 blocks are trainable, and those blocks."""
    shared = encoder.net
    most = shared.end_s16 - shared.end_s8  # the stride-16 blocks
    if not 0 < n <= most:
        raise ValueError(f"tuned_blocks must be 1..{most} (stride-16 blocks), got {n}")
    net = EfficientNetLite(shared.stages)
    net.load_state_dict(shared.state_dict(), strict=True)
    own = FrozenEncoder(net, accelerate=encoder.accelerate, threads=encoder.threads)
    tuned = nn.ModuleList(net._blocks[shared.end_s16 - n : shared.end_s16])
    for p in tuned.parameters():
        p.requires_grad_(True)
    return own, tuned
