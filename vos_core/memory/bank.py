"""The memory bank: explicit entries, the policy that keeps them bounded, and (owned with it) the
write policy that decides which frames enter it (:mod:`vos_core.memory.policy`).

Limits (see :class:`vos_core.config.MemoryConfig`):
- when working memory is over ``working_size`` the oldest unpinned working entry is consolidated
  into a LONG_TERM entry that keeps only its most used pixels (XMem-style);
- when long-term memory is over ``long_term_size`` the unpinned long-term entry with the lowest usage
  rate is evicted (least-frequently-used, as seed 002's temporal memory).
The latest ``recent_frames`` frames memorised for the local window are kept apart.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable
from dataclasses import dataclass

import torch

from vos_core.config import MemoryConfig
from vos_core.memory.entries import EntryInfo, EntryKind, MemoryEntry, MemoryFeatures
from vos_core.memory.policy import MemoryWrite, WritePolicy

_KIND_ORDER = {EntryKind.PERMANENT: 0, EntryKind.LONG_TERM: 1, EntryKind.WORKING: 2}


@dataclass(frozen=True)
class RecentFrame:
    """A recently processed frame, read through the local window."""

    frame: int
    features: MemoryFeatures


@dataclass(frozen=True)
class MemoryStats:
    """Snapshot of the bank for display and results (no tensors)."""

    entries: tuple[EntryInfo, ...]
    recent_frames: tuple[int, ...]
    recent_contribution: float
    total_bytes: int
    #: frames whose memory is pinned, entries to be written included (filled in by the session)
    pinned_frames: tuple[int, ...] = ()

    def count(self, kind: EntryKind) -> int:
        return sum(1 for e in self.entries if e.kind == kind)


@dataclass(frozen=True)
class MemoryView:
    """Concatenated bank tensors for one readout.

    key: C_k×M, value: O×C_v×M, segments: (entry id, start, end) per entry along M.
    """

    key: torch.Tensor
    value: torch.Tensor
    segments: tuple[tuple[int, int, int], ...]

    @property
    def size(self) -> int:
        return int(self.key.shape[1])


class MemoryBank:
    """Holds memory entries and applies the policy. Entry ids are stable for the GUI."""

    def __init__(self, config: MemoryConfig | None = None) -> None:
        self.config = config or MemoryConfig()
        self.policy = WritePolicy(self.config)
        self._entries: list[MemoryEntry] = []
        self.recent: deque[RecentFrame] = deque(maxlen=self.config.recent_frames)
        #: share of the latest readout's weight that went to the recent frames (a 0-dim tensor
        #: on the bank's device until :meth:`stats` reads it)
        self.recent_contribution: float | torch.Tensor = 0.0
        self._view: MemoryView | None = None

    # ----------------------------------------------------------------- queries
    def entries(self) -> list[MemoryEntry]:
        """Entries ordered by kind (permanent, long-term, working), then by frame."""
        return sorted(self._entries, key=lambda e: (_KIND_ORDER[e.kind], e.frame))

    def infos(self) -> list[EntryInfo]:
        return [EntryInfo.of(e) for e in self.entries()]

    def stats(self) -> MemoryStats:
        return MemoryStats(
            entries=tuple(self.infos()),
            recent_frames=tuple(r.frame for r in self.recent),
            recent_contribution=float(self.recent_contribution),
            total_bytes=self.nbytes,
        )

    def get(self, entry_id: int) -> MemoryEntry:
        for e in self._entries:
            if e.id == entry_id:
                return e
        raise KeyError(f"no memory entry with id {entry_id}")

    def find_frame(self, frame: int) -> MemoryEntry | None:
        for e in self._entries:
            if e.frame == frame and e.kind != EntryKind.LONG_TERM:
                return e
        return None

    def count(self, kind: EntryKind) -> int:
        return sum(1 for e in self._entries if e.kind == kind)

    @property
    def nbytes(self) -> int:
        recent = sum(r.features.nbytes for r in self.recent)
        return sum(e.nbytes for e in self._entries) + recent

    def __len__(self) -> int:
        return len(self._entries)

    def view(self) -> MemoryView | None:
        """Concatenation of all entries (cached until the bank changes); None when empty."""
        if not self._entries:
            return None
        if self._view is None:
            ordered = self.entries()
            segments = []
            start = 0
            for e in ordered:
                n = e.features.n_pixels
                segments.append((e.id, start, start + n))
                start += n
            self._view = MemoryView(
                key=torch.cat([e.features.key for e in ordered], dim=1),
                value=torch.cat([e.features.value for e in ordered], dim=2),
                segments=tuple(segments),
            )
        return self._view

    # ----------------------------------------------------------------- policy
    def add(
        self, frame: int, features: MemoryFeatures, kind: EntryKind, pinned: bool = False
    ) -> MemoryEntry:
        """Add a frame; an existing permanent/working entry of the same frame is replaced
        (a correction supersedes the prediction; a pin carries over). Then the limits are
        enforced (a pinned entry is added pinned, so it is never consolidated on the way in)."""
        if kind == EntryKind.LONG_TERM:
            raise ValueError("long-term entries are made by consolidation only")
        if kind == EntryKind.WORKING and not pinned:
            kept = next((e for e in self._entries if e.frame == frame and e.pinned), None)
            if kept is not None:
                return kept  # a pinned entry is kept as it was pinned: no new row, no new content
        old = self.find_frame(frame)
        if old is not None:
            if old.kind == EntryKind.PERMANENT and kind == EntryKind.WORKING:
                return old  # a prediction never overwrites a given mask
            pinned = pinned or old.pinned
            self._entries.remove(old)
        entry = MemoryEntry(frame=frame, kind=kind, features=features, pinned=pinned)
        self._entries.append(entry)
        self._changed()
        self._enforce_limits()
        return entry

    def plan(self, index: int, given: bool, permanent: bool = True) -> MemoryWrite | None:
        """What memory keeps of frame ``index`` (see :class:`WritePolicy`); None: nothing."""
        recent = self.recent[-1].frame if self.recent else None
        return self.policy.plan(recent, not self._entries, index, given, permanent)

    def write(self, index: int, features: MemoryFeatures, write: MemoryWrite) -> EntryKind | None:
        """Store a frame as ``write`` (from :meth:`plan`) says -> the kind of the entry it is in."""
        if write.recent:
            self.push_recent(index, features)
        if write.kind is None:
            return None
        return self.add(index, features, write.kind).kind

    def push_recent(self, frame: int, features: MemoryFeatures) -> None:
        """Remember a processed frame for the local window (bounded FIFO)."""
        if self.recent and self.recent[-1].frame == frame:
            self.recent.pop()
        self.recent.append(RecentFrame(frame, features))

    def clear_recent(self) -> None:
        self.recent.clear()

    def reconfigure(self, config: MemoryConfig) -> None:
        """Use new limits, keeping the entries (trimmed by the policy when the limits shrink) and
        the latest ``config.recent_frames`` recent frames."""
        self.config = config
        self.policy.config = config
        self.recent = deque(self.recent, maxlen=config.recent_frames)
        self._enforce_limits()

    def _enforce_limits(self) -> None:
        cfg = self.config
        while True:
            working = [e for e in self._entries if e.kind == EntryKind.WORKING and not e.pinned]
            n_working = self.count(EntryKind.WORKING)
            if n_working <= cfg.working_size or not working:
                break
            oldest = min(working, key=lambda e: e.id)
            self._consolidate(oldest)
        while True:
            long_term = [e for e in self._entries if e.kind == EntryKind.LONG_TERM and not e.pinned]
            if self.count(EntryKind.LONG_TERM) <= cfg.long_term_size or not long_term:
                break
            self._entries.remove(min(long_term, key=lambda e: (e.usage_rate, e.id)))
            self._changed()

    def _consolidate(self, entry: MemoryEntry) -> None:
        """Turn a working entry into a compact long-term one keeping its most used pixels."""
        n = entry.features.n_pixels
        keep_n = max(1, int(round(n * self.config.long_term_keep)))
        # ties (e.g. never read) fall back to an even spatial spread
        spread = torch.linspace(0, 1e-6, n, device=entry.pixel_usage.device)
        keep = torch.topk(entry.pixel_usage + spread, keep_n).indices.sort().values
        entry.features = entry.features.compressed(keep)
        entry.pixel_usage = entry.pixel_usage[keep].clone()
        entry.kind = EntryKind.LONG_TERM
        self._changed()

    # ----------------------------------------------------------------- usage
    def record_usage(self, view: MemoryView, pixel_weight: torch.Tensor, n_queries: int) -> None:
        """Add one readout's weights. pixel_weight: M, summed over query pixels, on the bank's device
        (per-pixel usage stays there; the per-entry sums come back in one transfer)."""
        n = max(n_queries, 1)
        sums = [pixel_weight[start:end].sum() for _, start, end in view.segments]
        *per_entry, total = torch.stack([*sums, pixel_weight.sum()]).tolist()
        by_id = {e.id: e for e in self._entries}
        for (entry_id, start, end), s in zip(view.segments, per_entry, strict=True):
            entry = by_id.get(entry_id)
            if entry is None:
                continue
            w = pixel_weight[start:end]
            if entry.pixel_usage.numel() == w.numel():
                entry.pixel_usage += w / n
            entry.usage += s / n
            entry.reads += 1
            entry.last_contribution = s / (total + 1e-12)

    # ----------------------------------------------------------------- operations for the GUI
    def pin(self, entry_id: int, pinned: bool = True) -> None:
        """Pinned entries are never consolidated or evicted by the policy."""
        self.get(entry_id).pinned = pinned
        if not pinned:
            self._enforce_limits()

    def rewrite(self, entry_id: int, features: MemoryFeatures, kind: EntryKind, pinned: bool) -> MemoryEntry:
        """Give entry ``entry_id`` new features, kind and pin, keeping its id (the GUI's row), with
        its usage counted anew."""
        entry = self.get(entry_id)
        entry.features, entry.kind, entry.pinned = features, kind, pinned
        entry.usage, entry.reads, entry.last_contribution = 0.0, 0, 0.0
        entry.pixel_usage = torch.zeros(features.n_pixels, device=features.key.device)
        self._changed()
        self._enforce_limits()
        return entry

    def evict(self, entry_id: int) -> None:
        self._entries.remove(self.get(entry_id))
        self._changed()

    def drop(
        self, frames: Iterable[int], kinds: Collection[EntryKind], pinned: bool = False
    ) -> list[MemoryEntry]:
        """Remove the entries of ``frames`` whose kind is in ``kinds`` (pinned ones too only when
        ``pinned``) -> the entries removed."""
        wanted = set(frames)
        gone = [
            e for e in self._entries
            if e.frame in wanted and e.kind in kinds and (pinned or not e.pinned)
        ]  # fmt: skip
        if gone:
            gone_ids = {e.id for e in gone}
            self._entries = [e for e in self._entries if e.id not in gone_ids]
            self._changed()
        return gone

    def forget_recent(self, frames: Iterable[int]) -> bool:
        """Clear the local window when it holds one of ``frames`` -> True when it did."""
        wanted = set(frames)
        if any(r.frame in wanted for r in self.recent):
            self.recent.clear()
            return True
        return False

    def reset(self, keep_permanent: bool = True) -> None:
        """Drop working and long-term entries (and permanent ones unless ``keep_permanent``)."""
        self._entries = [
            e for e in self._entries if keep_permanent and e.kind == EntryKind.PERMANENT
        ]
        self.recent.clear()
        self._changed()

    # ----------------------------------------------------------------- objects
    def pad_objects(self, n_objects: int) -> None:
        for e in self._entries:
            e.features = e.features.with_objects(n_objects)
        for i, r in enumerate(self.recent):
            self.recent[i] = RecentFrame(r.frame, r.features.with_objects(n_objects))
        self._changed()

    def drop_object(self, slot: int) -> None:
        for e in self._entries:
            e.features = e.features.without_object(slot)
        for i, r in enumerate(self.recent):
            self.recent[i] = RecentFrame(r.frame, r.features.without_object(slot))
        self._changed()

    def _changed(self) -> None:
        self._view = None
