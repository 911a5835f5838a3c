"""The session's references (the user's masks) and pins, by frame, and what memory has yet to encode.

A reference is a given mask: it becomes a PERMANENT memory entry and is used as given whenever
propagation passes its frame. Setting one drops at once whatever the bank held for that frame (a
predicted working or long-term entry, an older permanent one); the frame itself is encoded lazily,
when a run starts (:meth:`References.flush`), so telling the session about many references (a
reopened project) costs nothing until they are needed.

Pins are kept by frame so that they survive a correction and can be saved and restored: a pinned
entry replaced by a reference leaves the new entry pinned. A pinned *prediction* is held as the mask
it was pinned with (``pin_masks``, hard values: what the user saw when pinning, kept by the caller
in its project): pinning replaces the frame's predicted entries by one pinned working entry encoded
from that mask, a run that passes the frame keeps it (no second row, no new content), and a
restored pin (a reopened project) is encoded from the same mask at the next run, so reopening and
propagating again gives the same bytes. When the model changes (a refit), pinned predictions are
encoded again from their masks, like the references.
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
        #: pinned predicted frames -> the H×W labels their pinned entry is encoded from
        self.pin_masks: dict[int, np.ndarray] = {}
        #: pinned predicted frames whose entry is yet to be written (restored, or the model changed)
        self._pins_pending: set[int] = set()

    # ------------------------------------------------------------------ references
    def set(self, index: int, labels: np.ndarray) -> None:
        """Make ``labels`` (checked H×W uint8) the reference of frame ``index``."""
        self.masks[index] = labels.copy()
        self.pending.add(index)
        pinned = self.pin_masks.pop(index, None) is not None
        self._pins_pending.discard(index)
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
        pins, self._pins_pending = sorted(self._pins_pending), set()
        for index in pins:
            self._write_pin(index, encode)
        return len(todo) + len(pins)

    def _write_pin(self, index: int, encode: EncodeFn) -> None:
        """Replace the predicted entries of ``index`` by its pinned working entry (from its pin mask;
        the first of them keeps its id, so the row the user pinned stays)."""
        features = encode(index, self.pin_masks[index])
        held = [e for e in self.bank.entries() if e.frame == index and e.kind in _PREDICTED]
        if held:
            for other in held[1:]:
                self.bank.evict(other.id)
            self.bank.rewrite(held[0].id, features, EntryKind.WORKING, pinned=True)
        else:
            self.bank.add(index, features, EntryKind.WORKING, pinned=True)

    def all_pending(self) -> None:
        """Memory lost every entry (a reset without permanent entries, a reseed): every reference
        is written again at the next run; pins of entries that are gone are forgotten."""
        self.pending = set(self.masks)
        self._pin_on_write.clear()
        self.forget_pins_of_reset()

    def forget_pins_of_reset(self) -> None:
        """Memory dropped its working and long-term entries: the pins of predictions go too."""
        self.pin_masks.clear()
        self._pins_pending.clear()

    def model_changed(self) -> None:
        """The model that encodes memory changed: pinned predictions are encoded again (from their
        masks) when the next run starts, like the references."""
        self.bank.drop(self.pin_masks, _PREDICTED, pinned=True)
        self._pins_pending = set(self.pin_masks)

    def drop_object(self, object_id: int) -> None:
        for labels in (*self.masks.values(), *self.pin_masks.values()):
            labels[labels == object_id] = 0

    # ------------------------------------------------------------------ predictions
    def forget_predictions(self, frames: Iterable[int]) -> int:
        """Drop the unpinned working and long-term entries of ``frames`` -> how many."""
        return len(self.bank.drop(frames, _PREDICTED, pinned=False))

    # ------------------------------------------------------------------ pins
    def pinned_frames(self) -> list[int]:
        """Frames whose memory is pinned (entries now, or to be written pinned)."""
        now = {e.frame for e in self.bank.entries() if e.pinned}
        return sorted(now | self._pin_on_write | set(self.pin_masks))

    def pin_frame(self, index: int, labels: np.ndarray | None, encode: EncodeFn | None = None) -> None:
        """Pin frame ``index``. A reference: its entry now, else when it is written. A predicted
        frame with ``labels`` (the mask shown for it): its pinned entry is encoded from them, now
        when ``encode`` is given and memory holds the frame, else when the next run starts.
        Without ``labels``: the frame's entries as they are (not restorable byte for byte)."""
        entries = [e for e in self.bank.entries() if e.frame == index]
        if index in self.masks or labels is None:
            for entry in entries:
                self.bank.pin(entry.id)
            if index in self.masks and not entries:
                self._pin_on_write.add(index)
            return
        self.pin_masks[index] = labels.copy()
        if encode is not None and entries:
            self._write_pin(index, encode)
        else:
            self._pins_pending.add(index)

    def unpin_frame(self, index: int) -> None:
        """Frame ``index`` is pinned no more (its entries stay, as ordinary entries)."""
        self._pin_on_write.discard(index)
        self._pins_pending.discard(index)
        self.pin_masks.pop(index, None)
        for entry in self.bank.entries():
            if entry.frame == index and entry.pinned:
                self.bank.pin(entry.id, False)
