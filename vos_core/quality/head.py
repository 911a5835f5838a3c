"""The quality head (a small MLP regressing a mask's IoU from :mod:`vos_core.quality.features`),
its weights file and the per-session estimator.

``weights/quality.pt`` holds the head's state dict (input standardisation included) and
``weights/quality.json`` its card (:class:`QualityCard`: data, steps, wall time, validation and dev
Spearman, the feature names, the file's SHA-256). Loading reads with ``weights_only=True``, checks
the hash and the feature names and matches keys strictly; a corrupt or mismatched file is a
:class:`~vos_core.errors.WeightsError`. A *missing* ``quality.pt`` is not an error: the estimator
then reports the old confidence (mean winning probability near the objects) for every object, as
the engine did before the head existed.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from vos_core.errors import WeightsError
from vos_core.quality.features import FEATURE_NAMES, N_FEATURES, QualityFeatures
from vos_core.weights import weights_dir

WEIGHTS_NAME = "quality.pt"
CONFIDENCE_COLUMN = FEATURE_NAMES.index("frame_confidence")


class QualityHead(nn.Module):
    """N×F features -> N predicted IoU in [0, 1] (standardise, MLP, sigmoid)."""

    def __init__(self, n_features: int = N_FEATURES, hidden: int = 32) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("std", torch.ones(n_features))
        self.net = nn.Sequential(
            nn.Linear(n_features, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net((x - self.mean) / self.std)).squeeze(-1)


@dataclass
class QualityCard:
    """What ``quality.pt`` is: training data, optimiser steps, wall time, Spearman correlations with
    the true per-frame J (validation split of the training sequences; dev split), the input
    features in order, the hidden width and the weights file's SHA-256."""

    data: str = ""
    steps: int = 0
    wall_time_s: float = 0.0
    val_spearman: float | None = None
    dev_spearman: dict[str, float] = field(default_factory=dict)
    features: list[str] = field(default_factory=lambda: list(FEATURE_NAMES))
    hidden: int = 32
    sha256: str = ""
    notes: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"


def card_path(path: Path) -> Path:
    return path.with_suffix(".json")


def read_card(path: Path) -> QualityCard:
    """The card next to ``path`` (``quality.pt`` -> ``quality.json``); WeightsError when unreadable."""
    cpath = card_path(path)
    try:
        data = json.loads(cpath.read_text(encoding="utf-8"))
        return QualityCard(**data)
    except (OSError, ValueError, TypeError) as exc:
        raise WeightsError(f"quality head card {cpath} is missing or invalid: {exc}") from exc


def save_head(head: QualityHead, path: Path, card: QualityCard) -> None:
    """Write the state dict and its card (hash and features filled in)."""
    buffer = io.BytesIO()
    torch.save(head.state_dict(), buffer)
    data = buffer.getvalue()
    path.write_bytes(data)
    card.sha256 = hashlib.sha256(data).hexdigest()
    card.features = list(FEATURE_NAMES)
    card_path(path).write_text(card.to_json(), encoding="utf-8")


def load_head(path: Path) -> QualityHead:
    """Load a head strictly (hash, feature names, keys, shapes); WeightsError otherwise."""
    card = read_card(path)
    if tuple(card.features) != FEATURE_NAMES:
        raise WeightsError(
            f"quality head {path} was trained on other features ({len(card.features)}: "
            f"{', '.join(card.features[:3])}, ...) than this engine computes"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WeightsError(f"cannot read quality head {path}: {exc}") from exc
    if hashlib.sha256(data).hexdigest() != card.sha256:
        raise WeightsError(f"quality head {path} does not match the hash in {card_path(path)}")
    head = QualityHead(N_FEATURES, card.hidden)
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        head.load_state_dict(state, strict=True)
    except Exception as exc:  # unpickling and key/shape errors come in many types
        raise WeightsError(f"quality head {path} cannot be loaded: {exc}") from exc
    return head.eval()


@functools.lru_cache(maxsize=4)
def _cached_head(path: str, mtime_ns: int, size: int) -> QualityHead:
    return load_head(Path(path))


def shipped_head(path: Path | None = None) -> QualityHead | None:
    """The head in ``weights/quality.pt`` (cached per file version), None when the file is absent."""
    path = path or weights_dir() / WEIGHTS_NAME
    if not path.is_file():
        return None
    stat = path.stat()
    return _cached_head(str(path), stat.st_mtime_ns, stat.st_size)


@dataclass(frozen=True)
class Quality:
    """Estimated mask quality (predicted IoU, 0..1): per object, in the order of the session's
    object ids, and for the frame (the worst object; 1.0 without objects)."""

    frame: float
    objects: tuple[float, ...]

    @staticmethod
    def of(objects: tuple[float, ...]) -> Quality:
        return Quality(min(objects, default=1.0), objects)


class QualityEstimator:
    """One per session: features of each frame through the head (or the old confidence when no head
    is shipped). ``last_features`` keeps the latest O×F features (for training data)."""

    def __init__(self, head: QualityHead | None) -> None:
        self.head = head
        self.features = QualityFeatures()
        self.last_features: torch.Tensor | None = None

    @staticmethod
    def shipped() -> QualityEstimator:
        return QualityEstimator(shipped_head())

    def given(self, index: int, key: torch.Tensor, probs: torch.Tensor, ids: tuple[int, ...]) -> Quality:
        """A given mask (exact by definition): becomes the objects' reference. probs: O×H×W one-hot
        object masks at the processing resolution; key: C_k×h×w."""
        self.features.given(index, key, probs, ids)
        return Quality.of(tuple(1.0 for _ in ids))

    def predicted(
        self, index: int, key: torch.Tensor, agg: torch.Tensor, ids: tuple[int, ...], recent_share: float
    ) -> Quality:
        """agg: (O+1)×H×W aggregated probabilities (background first); key: C_k×h×w."""
        x = self.features.predicted(index, key, agg, ids, recent_share)
        self.last_features = x
        if not ids:
            return Quality.of(())
        if self.head is None:
            return Quality.of(tuple(float(v) for v in x[:, CONFIDENCE_COLUMN]))
        with torch.inference_mode():
            q = self.head(x)
        return Quality.of(tuple(float(v) for v in q))
