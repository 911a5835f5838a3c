"""Trained weights: model cards, hashing and strict loading.

A weights file ``<arch>.pt`` holds the state dict of the trained heads only (the ImageNet encoder
is loaded from its own package; only the blocks a model fine-tunes, ``tuned.*``, are saved with the
heads). Next to it,
``<arch>.json`` is the :class:`ModelCard` with the file's SHA-256. Loading verifies the card's
architecture and hash, reads with ``torch.load(weights_only=True)`` and matches keys strictly; any
failure raises :class:`WeightsError` with a message for the user.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vos_core.data.atomic import atomic_write_bytes
from vos_core.errors import WeightsError

#: parameter-name prefixes that belong to a frozen encoder and are never saved with the heads
ENCODER_PREFIXES = ("encoder.", "backbone.", "net.")


def weights_dir() -> Path:
    """Folder of the shipped weights: ``$VOS_WEIGHTS_DIR`` or ``<repo>/weights``."""
    env = os.environ.get("VOS_WEIGHTS_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[1] / "weights"


@dataclass
class ModelCard:
    """What a weights file is and how it was made.

    arch: registry name; data: training data/stages; steps: optimiser steps; wall_time_s: training
    time; dev_jf: J&F per dev sequence (and "mean"); fps_480p: measured inference speed; params:
    number of saved parameters; sha256: hash of the weights file; encoder_frozen: the ImageNet
    encoder was not trained; process_height: the processing height selected on the dev split
    (the model's default, None = the engine's 480); config: the architecture's config dataclass
    as a dict, which the registry builds the model with (None in cards written before it was
    recorded: the config's defaults); notes: free text.
    """

    arch: str
    data: str = ""
    steps: int = 0
    wall_time_s: float = 0.0
    dev_jf: dict[str, float] = field(default_factory=dict)
    fps_480p: float | None = None
    params: int = 0
    sha256: str = ""
    encoder_frozen: bool = True
    process_height: int | None = None
    config: dict[str, Any] | None = None
    notes: str = ""

    def __post_init__(self) -> None:
        if self.process_height is not None and (
            not isinstance(self.process_height, int) or self.process_height < 64
        ):
            raise ValueError(f"process_height must be an integer of at least 64, got {self.process_height!r}")
        if self.config is not None and not isinstance(self.config, dict):
            raise ValueError(f"config must be an object, got {self.config!r}")

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @staticmethod
    def from_json(text: str) -> ModelCard:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("model card is not a JSON object")
        known = {f.name for f in fields(ModelCard)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown model card fields: {', '.join(unknown)}")
        if "arch" not in data:
            raise ValueError("model card has no 'arch'")
        return ModelCard(**data)


def card_path(weights: str | Path) -> Path:
    return Path(weights).with_suffix(".json")


def sha256_of(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _head_items(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's state-dict entries that are not frozen-encoder entries (live tensors)."""
    return {k: v for k, v in model.state_dict().items() if not k.startswith(ENCODER_PREFIXES)}


def head_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's state dict without any frozen-encoder entries, detached on the CPU."""
    return {k: v.detach().cpu().clone() for k, v in _head_items(model).items()}


def head_param_count(model: nn.Module) -> int:
    """Number of trained parameters: the floating-point values a weights file of ``model`` holds."""
    return int(sum(v.numel() for v in _head_items(model).values() if v.is_floating_point()))


def save_weights(model: nn.Module, path: str | Path, card: ModelCard) -> ModelCard:
    """Write the heads' weights to ``path`` and the card (with hash and parameter count) next to it."""
    path = Path(path)
    name = getattr(model, "name", None)
    if name and card.arch != name:
        raise WeightsError(f"model card says {card.arch!r} but the model is {name!r}")
    state = head_state_dict(model)
    buf = io.BytesIO()
    torch.save(state, buf)
    data = buf.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)
    return write_card(path, card, model, hashlib.sha256(data).hexdigest())


def write_card(path: Path, card: ModelCard, model: nn.Module, sha256: str) -> ModelCard:
    """Complete ``card`` for the file ``path`` holding ``model`` (its hash ``sha256``, the trained
    parameter count, the architecture's config) and write it next to the file."""
    card.sha256 = sha256
    card.params = head_param_count(model)
    arch_config = getattr(model, "config", None)
    if is_dataclass(arch_config) and not isinstance(arch_config, type):
        card.config = asdict(arch_config)
    atomic_write_bytes(card_path(path), card.to_json().encode("utf-8"))
    return card


def read_card(path: str | Path) -> ModelCard:
    cpath = card_path(path)
    if not cpath.is_file():
        raise WeightsError(f"weights {path} have no model card {cpath.name}")
    try:
        return ModelCard.from_json(cpath.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, TypeError) as exc:
        raise WeightsError(f"model card {cpath} cannot be read: {exc}") from exc


def _read_verified(path: Path, arch: str | None = None) -> tuple[ModelCard, dict[str, torch.Tensor]]:
    """The card and state dict of ``path``, after checking the file exists, its card is for ``arch``
    (when given) and the file matches the card's hash."""
    if not path.is_file():
        raise WeightsError(f"weights file {path} not found")
    card = read_card(path)
    if arch and card.arch != arch:
        raise WeightsError(f"weights {path.name} are for architecture {card.arch!r}, not {arch!r}")
    digest = sha256_of(path)
    if digest != card.sha256:
        raise WeightsError(
            f"weights {path.name} fail their hash check (file {digest[:12]}…, card {card.sha256[:12]}…): "
            "the file is corrupt or does not belong to this card"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a corrupt file
        raise WeightsError(f"weights {path.name} cannot be read: {exc}") from exc
    if not isinstance(state, dict):
        raise WeightsError(f"weights {path.name} do not hold a state dict")
    return card, state


def load_weights(model: nn.Module, path: str | Path) -> ModelCard:
    """Load trained heads into ``model`` (strict) after checking the card's arch and hash."""
    path = Path(path)
    name = getattr(model, "name", None)
    card, state = _read_verified(path, name)
    expected = set(_head_items(model))
    got = set(state)
    if expected != got:
        missing = sorted(expected - got)
        unexpected = sorted(got - expected)
        raise WeightsError(
            f"weights {path.name} do not match {name or 'the model'}: "
            f"missing {missing[:5]}{'…' if len(missing) > 5 else ''}, "
            f"unexpected {unexpected[:5]}{'…' if len(unexpected) > 5 else ''}"
        )
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise WeightsError(f"weights {path.name} do not fit {name or 'the model'}: {exc}") from exc
    if hasattr(model, "trained"):
        model.trained = True  # type: ignore[assignment]
    if card.process_height is not None:
        model.process_height = card.process_height  # type: ignore[assignment]
    return card


@dataclass(frozen=True)
class WarmStart:
    """Result of :func:`warm_start`: the source card, the tensors copied and those left fresh."""

    card: ModelCard
    loaded: tuple[str, ...]
    fresh: tuple[str, ...]

    @property
    def fresh_modules(self) -> str:
        """The top-level modules with freshly initialised tensors, comma-separated."""
        return ", ".join(sorted({k.split(".")[0] for k in self.fresh}))


def warm_start(model: nn.Module, path: str | Path) -> WarmStart:
    """Initialise the shared parts of ``model`` from another architecture's trained heads.

    Training-time transfer only (never used to load shipped weights, which stay strict): every
    tensor whose name and shape match is copied, the others keep their fresh initialisation. The
    source file is hash-checked; copying nothing is an error.
    """
    path = Path(path)
    card, state = _read_verified(path)
    own = _head_items(model)
    loaded = sorted(k for k, v in own.items() if k in state and state[k].shape == v.shape)
    if not loaded:
        name = getattr(model, "name", "the model")
        raise WeightsError(f"weights {path.name} ({card.arch}) share no tensor with {name}")
    with torch.no_grad():
        for key in loaded:
            own[key].copy_(state[key])
    return WarmStart(card, tuple(loaded), tuple(sorted(set(own) - set(loaded))))

