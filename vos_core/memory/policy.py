"""When a processed frame is written to memory (the write policy; the bank's limits are in
:mod:`vos_core.memory.bank`).

- a given mask becomes a PERMANENT entry (hard values);
- a predicted frame becomes a WORKING entry every ``every`` frames, or when the bank is empty;
- the local window's recent frame is renewed when the frame is ``recent_gap`` frames newer than it
  (or on a given mask, or when there is none), and forgotten when processing jumps (a frame that
  is not adjacent to the previous one);
- predictions are memorised with their soft probabilities (``soft_values``), given masks hard.
"""

from __future__ import annotations

from dataclasses import dataclass

from vos_core.config import MemoryConfig
from vos_core.memory.entries import EntryKind


@dataclass(frozen=True)
class MemoryWrite:
    """What memory keeps of one frame: recent: it becomes the local window's frame; kind: the bank
    entry it becomes (None: none); soft: its values are the soft probabilities, not hard masks."""

    recent: bool
    kind: EntryKind | None
    soft: bool


class WritePolicy:
    """Decides, frame by frame, what memory keeps (state: frames since the last bank entry)."""

    #: predicted frames enter memory with their soft probabilities (True) or hard masks (False)
    soft_values = True

    def __init__(self, config: MemoryConfig) -> None:
        self.config = config
        self.since_entry = 0

    def plan(
        self, recent_frame: int | None, bank_empty: bool, index: int, given: bool, permanent: bool
    ) -> MemoryWrite | None:
        """The write for frame ``index`` (None: memory keeps nothing of it). recent_frame: the
        local window's frame (None: none); given: the frame's mask was given (permanent: as a
        permanent entry, else as a seed that is memorised like a prediction)."""
        recent = given or recent_frame is None or abs(index - recent_frame) >= self.config.recent_gap
        self.since_entry += 1
        kind = None
        if given and permanent:
            kind = EntryKind.PERMANENT
        elif self.since_entry >= self.config.every or bank_empty:
            kind = EntryKind.WORKING
        if kind is not None:
            self.since_entry = 0
        if not recent and kind is None:
            return None
        return MemoryWrite(recent=recent, kind=kind, soft=not given and self.soft_values)
