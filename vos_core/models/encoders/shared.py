"""The ImageNet EfficientNet-Lite0 shared by every model, and the runner each session gets for it."""

from __future__ import annotations

from functools import lru_cache

from torch import nn

from vos_core.config import SessionConfig
from vos_core.models.encoders.efficientnet_lite import EfficientNetLite, load_lite0
from vos_core.models.encoders.runner import FrozenEncoder
from vos_core.threads import ThreadBudget


@lru_cache(maxsize=1)
def pretrained_lite0() -> EfficientNetLite:
    """The ImageNet Lite0 backbone, loaded once per process and shared by all models."""
    return load_lite0(pretrained=True)


def encoder_threads(config: SessionConfig) -> int:
    """The encoder's share of the session's threads (:class:`vos_core.threads.ThreadBudget`)."""
    return ThreadBudget.of(config.threads).encoder


def frozen_encoder(config: SessionConfig, net: EfficientNetLite | None = None) -> FrozenEncoder:
    """The shared ImageNet encoder, or ``net`` (a model's own copy with fine-tuned blocks, whose
    ``requires_grad`` is left alone), run with the session's settings."""
    threads = encoder_threads(config)
    if net is None:
        return FrozenEncoder(pretrained_lite0(), accelerate=config.accelerate, threads=threads)
    return FrozenEncoder(net, accelerate=config.accelerate, threads=threads, freeze=False)


def set_encoder_threads(model: nn.Module, threads: int) -> None:
    """Change the intra-op threads of ``model``'s frame encoder (its ONNX sessions are rebuilt)."""
    for module in model.modules():
        for value in vars(module).values():
            if isinstance(value, FrozenEncoder) and value.threads != threads:
                value.threads = threads
                value.reset_sessions()


def model_encoder_threads(model: nn.Module) -> int:
    """The intra-op threads of ``model``'s frame encoder (1 when it has none of its own)."""
    found = [
        value.threads
        for module in model.modules()
        for value in vars(module).values()
        if isinstance(value, FrozenEncoder)
    ]
    return max(found, default=1)
