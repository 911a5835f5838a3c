"""Access to the ImageNet encoder for the trained heads (frozen, but for a model's fine-tuned blocks).

:class:`Backbone` is deliberately *not* an ``nn.Module``: the encoder's parameters never enter the
heads' ``state_dict``, optimiser or DistributedDataParallel, and ``model.train()`` cannot unfreeze its
batch-norm statistics. With autograd off (inference) it uses :class:`FrozenEncoder` (ONNX Runtime on
the CPU when available); with autograd on (training) it runs the torch network under ``no_grad`` so
the features are ordinary tensors the heads' autograd graph may save.

A model that fine-tunes the last blocks of the stride-16 stage (``LearnedVosModel(tuned_blocks=n)``)
owns those blocks as its own submodule; its backbone's network holds the same block objects, so
training records gradients from ``grad_from`` on and inference (ONNX export included) uses the
fine-tuned weights. Batch norm stays in eval mode in every block.
"""

from __future__ import annotations

import torch

from vos_core.models.encoders.efficientnet_lite import EfficientNetLite, EncoderFeatures
from vos_core.models.encoders.runner import FrozenEncoder


class Backbone:
    """Callable: B×3×H×W float RGB in [0, 255] -> :class:`EncoderFeatures` (s4, s8, s16)."""

    def __init__(self, encoder: FrozenEncoder, grad_from: int | None = None) -> None:
        self.encoder = encoder
        self.grad_from = grad_from
        self.channels: tuple[int, int, int] = tuple(encoder.net.channels)  # type: ignore[assignment]

    def _net_on(self, device: torch.device) -> EfficientNetLite:
        net = self.encoder.net_on(device)
        net.eval()  # batch-norm statistics stay frozen
        return net

    def __call__(self, rgb: torch.Tensor) -> EncoderFeatures:
        if rgb.dim() != 4 or rgb.shape[1] != 3:
            raise ValueError(f"Backbone: expected B×3×H×W RGB, got shape {tuple(rgb.shape)}")
        if torch.is_grad_enabled() or rgb.shape[0] != 1 or rgb.device.type != "cpu":
            # training, batches and GPUs: the torch network on the input's device, gradient-free
            # except through the blocks a model fine-tunes
            net = self._net_on(rgb.device)
            if self.grad_from is not None and torch.is_grad_enabled():
                return net(rgb, grad_from=self.grad_from)
            with torch.no_grad():
                return net(rgb)
        return self.encoder(rgb)  # single CPU frames at inference: ONNX Runtime when available

    def refresh(self) -> None:
        """Forget compiled (ONNX) encoders: the fine-tuned blocks' weights have changed."""
        self.encoder.reset_sessions()

    def check(self, f: EncoderFeatures) -> None:
        """Raise ``ValueError`` when features do not have this backbone's channel counts."""
        got = (int(f.s4.shape[1]), int(f.s8.shape[1]), int(f.s16.shape[1]))
        if got != self.channels:
            raise ValueError(f"encoder features have channels {got}, the heads expect {self.channels}")
