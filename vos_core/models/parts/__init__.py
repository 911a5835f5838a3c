"""Shared parts the trained architectures are assembled from (each checks its channel counts)."""

from vos_core.models.parts.attention import Attention, AttentionBlock
from vos_core.models.parts.backbone import Backbone
from vos_core.models.parts.blocks import CBAM, ChannelGate, Conv1x1, ResBlock, SeparableConv, check_channels
from vos_core.models.parts.decoder import RefinementDecoder, UpsampleBlock
from vos_core.models.parts.deform import ModulatedDeformConv2d, flow_warp
from vos_core.models.parts.encoders import KeyProjection, MaskEncoder, MaskValueEncoder
from vos_core.models.parts.key_value import KeyValueConfig, KeyValueModel
from vos_core.models.parts.losses import SegLossConfig, aggregate_logits, bootstrapped_ce, dice_loss
from vos_core.models.parts.model import LearnedVosModel, StashFrameFeatures
from vos_core.models.readout import affinity_readout, view_of

__all__ = [
    "CBAM",
    "Attention",
    "AttentionBlock",
    "Backbone",
    "ChannelGate",
    "Conv1x1",
    "KeyProjection",
    "KeyValueConfig",
    "KeyValueModel",
    "LearnedVosModel",
    "MaskEncoder",
    "MaskValueEncoder",
    "ModulatedDeformConv2d",
    "RefinementDecoder",
    "ResBlock",
    "SegLossConfig",
    "SeparableConv",
    "StashFrameFeatures",
    "UpsampleBlock",
    "affinity_readout",
    "aggregate_logits",
    "bootstrapped_ce",
    "check_channels",
    "dice_loss",
    "flow_warp",
    "view_of",
]
