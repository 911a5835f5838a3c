"""Memory entries: what the bank holds for one frame.

Shapes: C_k key channels, C_v value channels, O objects, N pixels at the coarse (global) stride,
N_f pixels at the fine (local) stride.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum

import torch


class EntryKind(str, Enum):  # noqa: UP042 - str() keeps its 3.11 meaning
    """PERMANENT: given masks (first annotation, user corrections); never evicted by policy.
    WORKING: recent predicted frames, bounded FIFO. LONG_TERM: consolidated, compressed entries."""

    PERMANENT = "permanent"
    WORKING = "working"
    LONG_TERM = "long_term"


@dataclass(frozen=True)
class MemoryFeatures:
    """Key/value tensors of one memory frame (or a consolidated subset of it).

    key: C_k×N coarse keys; value: O×C_v×N coarse values.
    hw: (h, w) of the coarse grid when N == h*w, None once pixels were pruned.
    fine_key: C_k×N_f and fine_value: O×C_v×N_f at the fine stride, or None (not kept).
    """

    key: torch.Tensor
    value: torch.Tensor
    hw: tuple[int, int] | None
    fine_key: torch.Tensor | None = None
    fine_value: torch.Tensor | None = None
    fine_hw: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.key.dim() != 2 or self.value.dim() != 3:
            raise ValueError(f"key must be C×N and value O×C×N, got {tuple(self.key.shape)}, "
                             f"{tuple(self.value.shape)}")
        if self.key.shape[1] != self.value.shape[2]:
            raise ValueError("key and value pixel counts differ")
        if self.hw is not None and self.hw[0] * self.hw[1] != self.key.shape[1]:
            raise ValueError("hw does not match the number of key pixels")

    @property
    def n_pixels(self) -> int:
        return int(self.key.shape[1])

    @property
    def n_objects(self) -> int:
        return int(self.value.shape[0])

    @property
    def nbytes(self) -> int:
        tensors = (self.key, self.value, self.fine_key, self.fine_value)
        return sum(t.numel() * t.element_size() for t in tensors if t is not None)

    def mirrored(self) -> MemoryFeatures:
        """The same features mirrored left-right on their grids (for a mirrored query's local
        readout). Pruned tensors (no grid size) are a set of pixels read without positions: they
        stay as they are."""

        def flip(t: torch.Tensor | None, hw: tuple[int, int] | None) -> torch.Tensor | None:
            if t is None or hw is None:
                return t
            return t.unflatten(-1, hw).flip(-1).flatten(-2)

        return replace(
            self, key=flip(self.key, self.hw), value=flip(self.value, self.hw),  # type: ignore[arg-type]
            fine_key=flip(self.fine_key, self.fine_hw), fine_value=flip(self.fine_value, self.fine_hw),
        )

    def with_objects(self, n_objects: int) -> MemoryFeatures:
        """Pad values with zero (absent) objects up to ``n_objects``."""
        extra = n_objects - self.n_objects
        if extra <= 0:
            return self

        def pad(v: torch.Tensor | None) -> torch.Tensor | None:
            if v is None:
                return None
            return torch.cat([v, v.new_zeros((extra, *v.shape[1:]))], dim=0)

        return replace(self, value=pad(self.value), fine_value=pad(self.fine_value))

    def without_object(self, slot: int) -> MemoryFeatures:
        """Drop object ``slot`` from the values."""

        def drop(v: torch.Tensor | None) -> torch.Tensor | None:
            if v is None:
                return None
            return torch.cat([v[:slot], v[slot + 1 :]], dim=0)

        return replace(self, value=drop(self.value), fine_value=drop(self.fine_value))

    def compressed(self, keep: torch.Tensor) -> MemoryFeatures:
        """Keep only coarse pixels ``keep`` (1-D indices) and drop the fine level."""
        return MemoryFeatures(
            key=self.key[:, keep].contiguous(), value=self.value[:, :, keep].contiguous(), hw=None
        )


_next_id = 0


def _new_id() -> int:
    global _next_id
    _next_id += 1
    return _next_id


@dataclass
class MemoryEntry:
    """One row of the memory bank, as the GUI lists it.

    usage: accumulated readout weight that query pixels gave to this entry.
    reads: number of readouts this entry took part in.
    pixel_usage: N, accumulated weight per coarse pixel (chooses what consolidation keeps).
    last_contribution: share (0..1) of the latest readout's weight that went to this entry.
    """

    frame: int
    kind: EntryKind
    features: MemoryFeatures
    pinned: bool = False
    usage: float = 0.0
    reads: int = 0
    last_contribution: float = 0.0
    pixel_usage: torch.Tensor = field(default=torch.empty(0))
    id: int = field(default_factory=_new_id)

    def __post_init__(self) -> None:
        if self.pixel_usage.numel() != self.features.n_pixels:
            self.pixel_usage = torch.zeros(self.features.n_pixels, device=self.features.key.device)

    @property
    def nbytes(self) -> int:
        return self.features.nbytes + self.pixel_usage.numel() * 4

    @property
    def usage_rate(self) -> float:
        """Mean weight per readout: the eviction criterion (low = rarely useful)."""
        return self.usage / max(self.reads, 1)


@dataclass(frozen=True)
class EntryInfo:
    """Read-only snapshot of an entry for display: no tensors."""

    id: int
    frame: int
    kind: EntryKind
    pinned: bool
    usage: float
    usage_rate: float
    reads: int
    contribution: float
    nbytes: int
    n_pixels: int

    @staticmethod
    def of(entry: MemoryEntry) -> EntryInfo:
        return EntryInfo(
            id=entry.id,
            frame=entry.frame,
            kind=entry.kind,
            pinned=entry.pinned,
            usage=entry.usage,
            usage_rate=entry.usage_rate,
            reads=entry.reads,
            contribution=entry.last_contribution,
            nbytes=entry.nbytes,
            n_pixels=entry.features.n_pixels,
        )
