"""The architectures, one spec each, in one table: name, description, model class (its config
dataclass is the class's ``config_type``), and whether it is trained (then ``weights/<name>.pt``).

``build(name)`` assembles a model: a trained architecture with its shipped weights, built with the
config its model card records (cards written before configs were recorded get the config's
defaults, which is what they were trained with). A missing or corrupt weights file is a
:class:`~vos_core.errors.WeightsError`; untrained heads are something a caller asks for by name
(``build(name, untrained=True)``: tests, training from scratch), never a fallback.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any

from vos_core.config import SessionConfig
from vos_core.errors import WeightsError
from vos_core.models.base import VosModel
from vos_core.models.encoders.runner import FrozenEncoder
from vos_core.models.encoders.shared import (  # noqa: F401 - part of this module's API
    encoder_threads,
    frozen_encoder,
    pretrained_lite0,
    set_encoder_threads,
)


@dataclass(frozen=True)
class ArchSpec:
    """name: registry key; description: one line; model: ``"module:Class"`` of the model, imported
    on first use (a learned model takes ``(encoder, config)`` with ``config`` an instance of its
    class attribute ``config_type``); trainable: it has trained heads in ``weights/<name>.pt``
    (else it is training-free and takes ``(encoder)`` only)."""

    name: str
    description: str
    model: str
    trainable: bool = True

    @property
    def weights(self) -> str | None:
        """The weights file name in ``weights/`` (None for a training-free architecture)."""
        return f"{self.name}.pt" if self.trainable else None

    @property
    def trained(self) -> bool:
        """True when the weights file exists in ``weights/``."""
        from vos_core.weights import weights_dir

        return self.weights is not None and (weights_dir() / self.weights).is_file()

    def model_class(self) -> type[VosModel]:
        module, cls = self.model.split(":")
        return getattr(import_module(module), cls)

    @property
    def config_type(self) -> type | None:
        """The architecture's config dataclass (None for a training-free model)."""
        return getattr(self.model_class(), "config_type", None)

    def arch_config(self, data: dict[str, Any] | None = None) -> Any:
        """The config dataclass from a model card's ``config`` (None: the defaults)."""
        cls = self.config_type
        if cls is None:
            return None
        if not data:
            return cls()
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        try:
            return cls(**values)
        except (TypeError, ValueError) as exc:
            raise WeightsError(f"the model card's config does not fit {self.name}: {exc}") from exc

    def make(self, encoder: FrozenEncoder, config: Any = None) -> VosModel:
        """Fresh (untrained) model on ``encoder``; ``config`` None = the config's defaults."""
        cls = self.model_class()
        if self.config_type is None:
            return cls(encoder)  # type: ignore[call-arg]
        return cls(encoder, config if config is not None else self.arch_config())  # type: ignore[call-arg]

    def build(self, config: SessionConfig | None = None, untrained: bool = False) -> VosModel:
        """The model for a session: trained architectures load their weights (strict, hashed)
        unless ``untrained``; a missing weights file is a :class:`WeightsError`."""
        from vos_core.weights import load_weights, read_card, weights_dir

        config = config or SessionConfig(arch=self.name)
        if self.weights is None or untrained:
            return self.make(frozen_encoder(config)).eval()
        path = weights_dir() / self.weights
        if not path.is_file():
            raise WeightsError(
                f"architecture {self.name!r} has no trained weights: {path} not found "
                f"(train it, or choose another architecture)"
            )
        model = self.make(frozen_encoder(config), self.arch_config(read_card(path).config))
        load_weights(model, path)
        return model.eval()


#: every architecture, in one place
_SPECS = (
    ArchSpec("propagation", "training-free label propagation on ImageNet EfficientNet-Lite0 features",
             "vos_core.models.archs.propagation:LabelPropagation", trainable=False),
    ArchSpec("stcn", "STCN-style baseline: L2 key affinity, top-k readout, refinement decoder",
             "vos_core.models.archs.stcn:StcnModel"),
    ArchSpec("gcm", "global context memory + channel-wise attention + mask embedding (seed 001)",
             "vos_core.models.archs.gcm:GcmModel"),
    ArchSpec("strn", "STCN + feature alignment and prototype transformer modules (seed 004)",
             "vos_core.models.archs.strn:StrnModel"),
    ArchSpec("sitvos", "Siamese interactive transformer with feature interaction (seed 003)",
             "vos_core.models.archs.sitvos:SitvosModel"),
    ArchSpec("stma", "spatial-temporal multi-level association, spatial + LFU temporal memory (seed 002)",
             "vos_core.models.archs.stma:StmaModel"),
)
_REGISTRY: dict[str, ArchSpec] = {spec.name: spec for spec in _SPECS}

#: the training-free architecture, always available
FALLBACK_ARCH = "propagation"


def arch_names() -> list[str]:
    return sorted(_REGISTRY)


def trainable_names() -> list[str]:
    """Architectures with trainable heads."""
    return [n for n in arch_names() if _REGISTRY[n].trainable]


def usable_arch_names() -> list[str]:
    """Architectures a user can pick: training-free ones and those whose weights are shipped."""
    return [n for n in arch_names() if not get_spec(n).trainable or get_spec(n).trained]


def default_arch() -> str:
    """The architecture users get unless they choose: the shipped trained architecture with the best
    mean dev J&F in its model card, or the training-free ``propagation`` when none is shipped.

    (``SessionConfig().arch`` stays ``propagation``: the engine's own default needs no weights.)
    """
    from vos_core.weights import read_card, weights_dir

    best, best_jf = FALLBACK_ARCH, float("-inf")
    for name in trainable_names():
        spec = get_spec(name)
        if not spec.trained or spec.weights is None:
            continue
        try:
            jf = read_card(weights_dir() / spec.weights).dev_jf.get("mean")
        except WeightsError:
            continue  # a broken card is reported when the model is built, not here
        if jf is not None and jf > best_jf:
            best, best_jf = name, float(jf)
    return best


def get_spec(name: str) -> ArchSpec:
    if name not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY))
        raise KeyError(f"unknown architecture {name!r} (known: {known})")
    return _REGISTRY[name]


def build(name: str, config: SessionConfig | None = None, untrained: bool = False) -> VosModel:
    """Build architecture ``name`` (see :meth:`ArchSpec.build`); ``config`` gives the device-side
    settings (encoder acceleration and threads), default ``SessionConfig(arch=name)``."""
    return get_spec(name).build(config, untrained=untrained)


def build_model(config: SessionConfig) -> VosModel:
    """The trained (or training-free) model ``config.arch`` names."""
    return build(config.arch, config)

