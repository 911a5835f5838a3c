"""The stage interface every architecture implements, so all of them run on the same session.

Stages: ``encode_frame`` (image -> keys and decoder features), ``encode_memory`` (frame features +
object masks -> what the bank stores), ``read_memory`` (query keys × bank -> readout) and
``decode`` (readout -> per-object probabilities at the processing resolution).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from vos_core.config import ReadoutConfig
from vos_core.memory.bank import MemoryView
from vos_core.memory.entries import MemoryFeatures
from vos_core.models.readout import ReadoutResult

#: the recent frames' memory features, oldest first (read through the local window)
RecentFrames = Sequence[MemoryFeatures]


@dataclass(frozen=True)
class FrameFeatures:
    """Everything later stages need from one encoded frame.

    key: C_k×h×w coarse keys (global matching); fine_key: C_k×H_f×W_f or None;
    skips: decoder skip features (each 1×C×h×w), empty for training-free models;
    image_hw: (H, W) processing resolution of the frame.
    """

    key: torch.Tensor
    fine_key: torch.Tensor | None
    skips: tuple[torch.Tensor, ...]
    image_hw: tuple[int, int]


class VosModel(nn.Module, ABC):
    """Base class of every architecture. Subclasses set ``name`` and ``trained``."""

    name: str = "base"
    trained: bool = False
    #: the coarse and fine grid strides of keys relative to the processing resolution
    coarse_stride: int = 16
    fine_stride: int = 8
    #: True when ``decode`` already shares each pixel among objects (Σ ≤ 1, background = rest)
    exclusive: bool = False
    #: frames shorter than this are upscaled to it for processing (0 = never upscale)
    min_process_height: int = 0
    #: frames taller than this are processed scaled down to it, unless the session config sets
    #: its own height (trained models: the height selected on the dev split, from the model card)
    process_height: int = 480

    @abstractmethod
    def encode_frame(self, rgb: torch.Tensor) -> FrameFeatures:
        """rgb: 1×3×H×W float RGB in [0, 255] at the processing resolution."""

    @abstractmethod
    def encode_memory(self, frame: FrameFeatures, probs: torch.Tensor) -> MemoryFeatures:
        """probs: O×H×W object probabilities at the processing resolution."""

    @abstractmethod
    def read_memory(
        self, frame: FrameFeatures, bank: MemoryView | None, recent: RecentFrames, config: ReadoutConfig
    ) -> ReadoutResult:
        """Affinity readout of the bank and recent frames for this frame's keys."""

    @abstractmethod
    def decode(self, frame: FrameFeatures, readout: ReadoutResult) -> torch.Tensor:
        """-> O×H×W object probabilities (each in [0, 1]) at the processing resolution."""
