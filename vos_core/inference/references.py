"""The session's references (the user's masks) and pins, by frame, and what memory has yet to encode.

A reference is a given mask: it becomes a PERMANENT memory entry and is used as given whenever
propagation passes its frame. Setting one drops at once whatever the bank held for that frame (a
predicted working or long-term entry, an older permanent one); the frame itself is encoded lazily,
when a run starts (:meth:`References.flush`), so telling the session about many references (a
reopened project) costs nothing until they are needed.

Pins are kept by frame so that they survive a correction and can be saved and restored: a pinned
entry replaced by a reference leaves the new entry pinned, and a pin restored for a predicted frame
(a reopened project) is encoded from its stored mask at the next run, as a pinned working entry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from vos_core.memory.bank import MemoryBank
from vos_core.memory.entries import EntryKind, MemoryFeatures

#: (frame index, H×W labels) -> the memory features of that frame with those labels as its values
EncodeFn = Callable[[int, np.ndarray], MemoryFeatures]

_ALL = (EntryKind.PERMANENT, EntryKind.WORKING, EntryKind.LONG_TERM)
_PREDICTED = (EntryKind.WORKING, EntryKind.LONG_TERM)


class References:
    """References (``masks``: frame -> H×W labels) and pins of one session's ``bank``."""

    def __init__(self, bank: MemoryBank) -> None:
        self.bank = bank
        self.masks: dict[int, np.ndarray] = {}
        #: references not yet written to memory
        self.pending: set[int] = set()
        #: frames whose next entry is to be pinned (a pinned entry was replaced by a reference)
        self._pin_on_write: set[int] = set()
        #: pinned predicted frames to encode from their stored masks (a restored project)
        self._pinned_masks: dict[int, np.ndarray] = {}

    # ------------------------------------------------------------------ references
    def set(self, index: int, labels: np.ndarray) -> None:
        """Make ``labels`` (checked H×W uint8) the reference of frame ``index``."""
        self.masks[index] = labels.copy()
        self.pending.add(index)
        pinned = self._pinned_masks.pop(index, None) is not None
        if any(e.pinned for e in self.bank.drop([index], _ALL, pinned=True)) or pinned:
            self._pin_on_write.add(index)

    def remove(self, index: int) -> None:
        """Frame ``index`` is no reference any more: its mask and permanent entry go."""
        self.masks.pop(index, None)
        self.pending.discard(index)
        self._pin_on_write.discard(index)
        self.bank.drop([index], (EntryKind.PERMANENT,), pinned=True)

    def written(self, index: int) -> None:
        """(After the session memorised frame ``index``'s given mask.) It is no longer pending."""
        self.pending.discard(index)
        if index in self._pin_on_write:
            entry = self.bank.find_frame(index)
            if entry is not None:
                self.bank.pin(entry.id)
                self._pin_on_write.discard(index)

    def flush(self, encode: EncodeFn, skip: int | None = None) -> int:
        """Write the pending references (frame order, all but ``skip``) as permanent entries and
        the restored pins of predicted frames as pinned working entries -> entries written."""
        todo = sorted(self.pending - {skip})
        for index in todo:
            pin = index in self._pin_on_write
            self.bank.add(index, encode(index, self.masks[index]), EntryKind.PERMANENT, pinned=pin)
            self.pending.discard(index)
            self._pin_on_write.discard(index)
        masks, self._pinned_masks = self._pinned_masks, {}
        for index, labels in sorted(masks.items()):
            self.bank.add(index, encode(index, labels), EntryKind.WORKING, pinned=True)
        return len(todo) + len(masks)

    def all_pending(self) -> None:
        """Memory lost every entry (a reset without permanent entries, a reseed): every reference
        is written again at the next run; pins of entries that are gone are forgotten."""
        self.pending = set(self.masks)
        self._pin_on_write.clear()
        self._pinned_masks.clear()

    def forget_pins_of_reset(self) -> None:
        """Memory dropped its working and long-term entries: their restored pins go too."""
        self._pinned_masks.clear()

    def drop_object(self, object_id: int) -> None:
        for labels in (*self.masks.values(), *self._pinned_masks.values()):
            labels[labels == object_id] = 0

    # ------------------------------------------------------------------ predictions
    def forget_predictions(self, frames: Iterable[int]) -> int:
        """Drop the unpinned working and long-term entries of ``frames`` -> how many."""
        return len(self.bank.drop(frames, _PREDICTED, pinned=False))

    # ------------------------------------------------------------------ pins
    def pinned_frames(self) -> list[int]:
        """Frames whose memory is pinned (entries now, or to be written pinned)."""
        now = {e.frame for e in self.bank.entries() if e.pinned}
        return sorted(now | self._pin_on_write | set(self._pinned_masks))

    def pin_frame(self, index: int, labels: np.ndarray | None) -> None:
        """Pin frame ``index``: its entries now; else the reference when it is written; else (a
        predicted frame, ``labels`` its stored mask) a working entry encoded at the next run."""
        entries = [e for e in self.bank.entries() if e.frame == index]
        for entry in entries:
            self.bank.pin(entry.id)
        if entries:
            return
        if index in self.masks:
            self._pin_on_write.add(index)
        elif labels is not None:
            self._pinned_masks[index] = labels.copy()

    def unpin_frame(self, index: int) -> None:
        self._pin_on_write.discard(index)
        self._pinned_masks.pop(index, None)
