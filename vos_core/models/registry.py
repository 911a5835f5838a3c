"""Registry of architectures: name -> builder. Architectures are assembled from shared parts here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from vos_core.config import SessionConfig
from vos_core.models.base import VosModel
from vos_core.models.encoders.efficientnet_lite import EfficientNetLite, load_lite0
from vos_core.models.encoders.runner import FrozenEncoder
from vos_core.threads import ThreadBudget


@dataclass(frozen=True)
class ArchSpec:
    """name: registry key; description: one line; build: config -> model; weights: trained file
    name in ``weights/`` or None for training-free models."""

    name: str
    description: str
    build: Callable[[SessionConfig], VosModel]
    weights: str | None = None

    @property
    def trained(self) -> bool:
        """True when the weights file exists in ``weights/`` (else the heads build untrained)."""
        from vos_core.weights import weights_dir

        return self.weights is not None and (weights_dir() / self.weights).is_file()


_REGISTRY: dict[str, ArchSpec] = {}


def register(spec: ArchSpec) -> None:
    if spec.name in _REGISTRY:
        raise ValueError(f"architecture {spec.name!r} registered twice")
    _REGISTRY[spec.name] = spec


@lru_cache(maxsize=1)
def pretrained_lite0() -> EfficientNetLite:
    """The ImageNet Lite0 backbone, loaded once per process and shared by all models."""
    return load_lite0(pretrained=True)


def encoder_threads(config: SessionConfig) -> int:
    """The encoder's share of the session's threads (:class:`vos_core.threads.ThreadBudget`)."""
    return ThreadBudget.of(config.threads).encoder


def set_encoder_threads(model: VosModel, threads: int) -> None:
    """Change the intra-op threads of ``model``'s frame encoder (its ONNX sessions are rebuilt)."""
    for module in model.modules():
        for value in vars(module).values():
            if isinstance(value, FrozenEncoder) and value.threads != threads:
                value.threads = threads
                value.reset_sessions()


def frozen_encoder(config: SessionConfig, net: EfficientNetLite | None = None) -> FrozenEncoder:
    """The shared ImageNet encoder, or ``net`` (a model's own copy with fine-tuned blocks, whose
    ``requires_grad`` is left alone), run with the session's settings."""
    threads = encoder_threads(config)
    if net is None:
        return FrozenEncoder(pretrained_lite0(), accelerate=config.accelerate, threads=threads)
    return FrozenEncoder(net, accelerate=config.accelerate, threads=threads, freeze=False)


def arch_names() -> list[str]:
    _register_builtin()
    return sorted(_REGISTRY)


def usable_arch_names() -> list[str]:
    """Architectures a user can pick: training-free ones and those whose weights are shipped."""
    return [n for n in arch_names() if get_spec(n).weights is None or get_spec(n).trained]


#: the training-free architecture, always available
FALLBACK_ARCH = "propagation"


def default_arch() -> str:
    """The architecture users get unless they choose: the shipped trained architecture with the best
    mean dev J&F in its model card, or the training-free ``propagation`` when none is shipped.

    (``SessionConfig().arch`` stays ``propagation``: the engine's own default needs no weights.)
    """
    from vos_core.errors import WeightsError
    from vos_core.weights import read_card, weights_dir

    best, best_jf = FALLBACK_ARCH, float("-inf")
    for name in arch_names():
        spec = get_spec(name)
        if spec.weights is None or not spec.trained:
            continue
        try:
            jf = read_card(weights_dir() / spec.weights).dev_jf.get("mean")
        except WeightsError:
            continue  # a broken card is reported when the model is built, not here
        if jf is not None and jf > best_jf:
            best, best_jf = name, float(jf)
    return best


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
    from vos_core.models.archs.gcm import GcmModel
    from vos_core.models.archs.propagation import LabelPropagation
    from vos_core.models.archs.sitvos import SitvosModel
    from vos_core.models.archs.stcn import StcnModel
    from vos_core.models.archs.stma import StmaModel
    from vos_core.models.archs.strn import StrnModel
    from vos_core.weights import load_if_available

    register(
        ArchSpec(
            "propagation",
            "training-free label propagation on ImageNet EfficientNet-Lite0 features",
            lambda cfg: LabelPropagation(frozen_encoder(cfg)),
        )
    )

    def learned(
        name: str, description: str, make: Callable[[FrozenEncoder], VosModel]
    ) -> ArchSpec:
        filename = f"{name}.pt"

        def build(cfg: SessionConfig) -> VosModel:
            model = load_if_available(make(frozen_encoder(cfg)), filename)
            assert isinstance(model, VosModel)
            return model

        return ArchSpec(name, description, build, weights=filename)

    register(learned("stcn", "STCN-style baseline: L2 key affinity, top-k readout, refinement decoder",
                     StcnModel))
    register(learned("gcm", "global context memory + channel-wise attention + mask embedding (seed 001)",
                     GcmModel))
    register(learned("strn", "STCN + feature alignment and prototype transformer modules (seed 004)",
                     StrnModel))
    register(learned("sitvos", "Siamese interactive transformer with feature interaction (seed 003)",
                     SitvosModel))
    register(learned("stma", "spatial-temporal multi-level association, spatial + LFU temporal memory "
                             "(seed 002)", StmaModel))
