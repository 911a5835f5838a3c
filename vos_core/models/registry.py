"""Registry of architectures: name -> builder. Architectures are assembled from shared parts here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from vos_core.config import SessionConfig
from vos_core.models.base import VosModel
from vos_core.models.encoders.efficientnet_lite import EfficientNetLite, load_lite0
from vos_core.models.encoders.runner import FrozenEncoder


@dataclass(frozen=True)
class ArchSpec:
    """name: registry key; description: one line; build: config -> model; weights: trained file
    name in ``weights/`` or None for training-free models."""

    name: str
    description: str
    build: Callable[[SessionConfig], VosModel]
    weights: str | None = None


_REGISTRY: dict[str, ArchSpec] = {}


def register(spec: ArchSpec) -> None:
    if spec.name in _REGISTRY:
        raise ValueError(f"architecture {spec.name!r} registered twice")
    _REGISTRY[spec.name] = spec


@lru_cache(maxsize=1)
def pretrained_lite0() -> EfficientNetLite:
    """The ImageNet Lite0 backbone, loaded once per process and shared by all models."""
    return load_lite0(pretrained=True)


def frozen_encoder(config: SessionConfig) -> FrozenEncoder:
    return FrozenEncoder(pretrained_lite0(), accelerate=config.accelerate, threads=config.threads)


def arch_names() -> list[str]:
    _register_builtin()
    return sorted(_REGISTRY)


def get_spec(name: str) -> ArchSpec:
    _register_builtin()
    if name not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY))
        raise KeyError(f"unknown architecture {name!r} (known: {known})")
    return _REGISTRY[name]


def build_model(config: SessionConfig) -> VosModel:
    return get_spec(config.arch).build(config).eval()


def _register_builtin() -> None:
    if _REGISTRY:
        return
    from vos_core.models.archs.propagation import LabelPropagation

    register(
        ArchSpec(
            "propagation",
            "training-free label propagation on ImageNet EfficientNet-Lite0 features",
            lambda cfg: LabelPropagation(frozen_encoder(cfg)),
        )
    )
