"""Runs training clips through a model's *stage methods* (the model is wrapped, not subclassed).

For each clip: frame 0's ground truth is encoded into memory; every later frame is read from the
memory of the frames before it (all of them in the "bank", the latest ``recent_frames`` also as
recent frames, as in the inference session), decoded, scored, and its prediction (``decode``'s
probabilities, as the session's soft memory) encoded into memory for the next frame. The
encoder runs once per clip, batched, and its features are reused by every stage (query and memory):
that is the caching that is sound here, since every clip is freshly augmented.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vos_core.config import MemoryConfig, ReadoutConfig
from vos_core.memory.entries import MemoryFeatures
from vos_core.models.encoders.efficientnet_lite import EncoderFeatures
from vos_core.models.parts.losses import SegLossConfig, aggregate_logits, segmentation_loss
from vos_core.models.parts.model import LearnedVosModel
from vos_core.models.readout import view_of


@dataclass(frozen=True)
class ClipStats:
    loss: float
    ce: float
    dice: float
    iou: float


class ClipRunner(nn.Module):
    """nn.Module wrapper (what DistributedDataParallel wraps): forward(clips) -> (loss, stats)."""

    def __init__(
        self,
        model: LearnedVosModel,
        readout: ReadoutConfig | None = None,
        recent_frames: int | None = None,
        loss: SegLossConfig | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.readout = readout or ReadoutConfig(top_k=30)
        self.recent_frames = recent_frames or MemoryConfig().recent_frames
        self.loss_config = loss or SegLossConfig()

    def frozen_features(self, frames: torch.Tensor) -> EncoderFeatures:
        """B×T×3×H×W -> features of all B·T frames in one batched pass, gradient-free except
        through the blocks the model fine-tunes (if any)."""
        return self.model.backbone(frames.flatten(0, 1).float())

    def forward(
        self, frames: torch.Tensor, labels: torch.Tensor, n_objects: torch.Tensor, top_p: float = 1.0
    ) -> tuple[torch.Tensor, ClipStats]:
        """frames: B×T×3×H×W (uint8 or float in [0, 255]), labels: B×T×H×W, n_objects: B (on the
        CPU preferably: it is read once)."""
        with warnings.catch_warnings():
            # the shared readout's usage bookkeeping reads floats off tensors that require grad
            warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad=True")
            return self._forward(frames, labels, n_objects, top_p)

    def _forward(
        self, frames: torch.Tensor, labels: torch.Tensor, n_objects: torch.Tensor, top_p: float
    ) -> tuple[torch.Tensor, ClipStats]:
        b, t = frames.shape[:2]
        if t < 2:
            raise ValueError("a training clip needs at least two frames")
        feats = self.frozen_features(frames)
        # running sums stay on the device: one transfer per batch, no per-frame synchronisation
        total, ce, dice, inter, union = (frames.new_zeros((), dtype=torch.float32) for _ in range(5))
        count = 0
        for i, o in enumerate(n_objects.tolist()):
            lab = labels[i].long()
            if o < 1:
                continue
            encoded = []
            for j in range(t):
                k = i * t + j
                f = EncoderFeatures(feats.s4[k : k + 1], feats.s8[k : k + 1], feats.s16[k : k + 1])
                encoded.append(self.model.encode_frame(frames[i, j : j + 1].float(), features=f))
            first = F.one_hot(lab[0].clamp(max=o), o + 1).permute(2, 0, 1)[1:].float()
            memory: list[MemoryFeatures] = [self.model.encode_memory(encoded[0], first)]
            for j in range(1, t):
                readout = self.model.read_memory(
                    encoded[j], view_of(memory), memory[-self.recent_frames :], self.readout
                )
                logits = self.model.decode_logits(encoded[j], readout)
                loss, parts = segmentation_loss(logits, lab[j], top_p, self.loss_config)
                total = total + loss
                ce += parts["ce"]
                dice += parts["dice"]
                count += 1
                with torch.no_grad():
                    pred = aggregate_logits(logits).argmax(dim=0)
                    inter += ((pred == lab[j]) & (lab[j] > 0)).sum()
                    union += ((pred > 0) | (lab[j] > 0)).sum()
                if j < t - 1:
                    memory.append(self.model.encode_memory(encoded[j], torch.sigmoid(logits)))
        n = max(count, 1)
        mean = total / n
        stats = torch.stack([mean.detach(), ce / n, dice / n, inter / union.clamp(min=1.0)]).tolist()
        return mean, ClipStats(*stats)
