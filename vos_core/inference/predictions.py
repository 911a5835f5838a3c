"""The session's latest prediction per frame, kept compressed: what a correction compares its new masks
with (to stop early) and fuses them with (:mod:`vos_core.inference.correction`).

A frame's entry holds its H×W labels (zlib, a few KB for a 480p mask, so a 3,000-frame video costs
tens of MB, never a stack of full-resolution probabilities), its estimated quality per object and the
frame its run started from (its *source*: the reference the prediction came from).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

__all__ = ["Prediction", "PredictionLog"]


@dataclass(frozen=True)
class Prediction:
    """One frame's kept prediction: ``labels()`` is H×W uint8 (0 = background, else an object id)."""

    packed: bytes
    shape: tuple[int, int]
    object_ids: tuple[int, ...]
    object_quality: tuple[float, ...]
    #: the frame the run that made it started from (a reference, or the seed of the run)
    source: int

    def labels(self) -> np.ndarray:
        return np.frombuffer(bytearray(zlib.decompress(self.packed)), np.uint8).reshape(self.shape)

    @property
    def quality(self) -> float:
        """The frame's estimated quality: its worst object's (1.0 without objects)."""
        return min(self.object_quality, default=1.0)


class PredictionLog:
    """frame -> :class:`Prediction`, the latest predicted (or fused) mask of every frame."""

    def __init__(self) -> None:
        self._frames: dict[int, Prediction] = {}

    def __len__(self) -> int:
        return len(self._frames)

    def __contains__(self, index: object) -> bool:
        return index in self._frames

    def record(
        self,
        index: int,
        labels: np.ndarray,
        object_ids: tuple[int, ...],
        object_quality: tuple[float, ...],
        source: int,
    ) -> None:
        """Keep ``labels`` (H×W uint8) as frame ``index``'s latest prediction."""
        labels = np.ascontiguousarray(labels, dtype=np.uint8)
        packed = zlib.compress(labels.tobytes(), 1)
        h, w = labels.shape
        self._frames[index] = Prediction(
            packed, (int(h), int(w)), tuple(object_ids), tuple(float(q) for q in object_quality), source
        )

    def get(self, index: int) -> Prediction | None:
        return self._frames.get(index)

    def forget(self, frames: Iterable[int]) -> None:
        """These frames' predictions are no longer what the user has (an undone run, a reference)."""
        for index in frames:
            self._frames.pop(index, None)

    def frames(self) -> list[int]:
        return sorted(self._frames)

    def nbytes(self) -> int:
        """Bytes held by the compressed masks."""
        return sum(len(p.packed) for p in self._frames.values())
