"""Per-frame results of an inference session."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vos_core.memory.bank import MemoryStats
from vos_core.memory.entries import EntryKind


@dataclass(frozen=True)
class Timings:
    """Milliseconds spent per stage for one frame."""

    read_ms: float = 0.0
    encode_ms: float = 0.0
    readout_ms: float = 0.0
    decode_ms: float = 0.0
    memory_ms: float = 0.0

    @property
    def total_ms(self) -> float:
        return self.read_ms + self.encode_ms + self.readout_ms + self.decode_ms + self.memory_ms


@dataclass(frozen=True)
class FrameResult:
    """What the session produced for one frame.

    labels: H×W uint8 at the original resolution (0 = background, else an object id).
    object_ids: ids of the session's objects, in the order of ``probs``.
    probs: O×h×w float16 object probabilities at the processing resolution.
    confidence: 0..1, mean winning probability over the pixels near objects (1 = certain).
    given: True when the mask was supplied by the user rather than predicted.
    memory_added: kind of the bank entry this frame became, or None.
    quality: estimated IoU of the frame's masks (the worst object's; 1.0 for given masks), from
        the quality head (``vos_core.quality``); the old ``confidence`` when no head is shipped.
    object_quality: estimated IoU per object, in the order of ``object_ids``.
    """

    index: int
    labels: np.ndarray
    object_ids: tuple[int, ...]
    probs: np.ndarray
    confidence: float
    given: bool
    memory_added: EntryKind | None
    memory: MemoryStats
    timings: Timings
    quality: float = 1.0
    object_quality: tuple[float, ...] = ()

    def mask(self, object_id: int) -> np.ndarray:
        """H×W bool mask of one object at the original resolution."""
        return self.labels == object_id
