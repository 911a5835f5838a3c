"""The memory operations of a :class:`~app.model.document.Document`, each one undo step that says
what it did (:class:`MemoryOps`, mixed into the document).

- **Pin / unpin** (:meth:`MemoryOps.set_pinned`): by frame. A pinned prediction is pinned with the
  mask shown for it, kept in the project (``pins/``), so reopening restores the very entry.
- **Evict** (:meth:`MemoryOps.evict`): a prediction's entries leave memory (a pin goes with them);
  undo memorises the frame again from its mask. A reference is never silently evicted: it becomes
  an ordinary frame ("not a reference", the grey mark on the timeline) and the message says so.
- **Reset** (:meth:`MemoryOps.reset_memory`): the learnt entries go (the references too with
  ``keep_permanent=False``: they are written again when the next run starts); undo memorises the
  frames again from their masks and puts the pins back.
- **Reseed** (:meth:`MemoryOps.reseed`): a reset that keeps the references, then the run it
  announces: from the frame to the end of the video (the start, from the last frame).

The engine is told through the client's plain commands (``restore``, ``unpin_frame``,
``forget_predictions``, ``remember``, ``reset_memory``); an undone eviction or reset brings the
frames back as entries encoded from their masks (hard values), not the exact pixels they had.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtGui import QUndoStack

from app.model.document_runs import EngineLike
from app.model.mask_store import MaskStore
from app.model.project import Project
from app.model.references import ReferenceSync
from app.model.undo import StateCommand
from vos_core import EntryKind, MemoryStats


@dataclass(frozen=True)
class _Learnt:
    """What memory had learnt, to put back: predicted frames -> the mask to memorise again, and
    the pinned frames -> what each pin is sent with (None: a reference)."""

    predicted: dict[int, np.ndarray]
    pins: dict[int, np.ndarray | None]


class MemoryOps:
    """Mixed into ``Document`` (which owns the state below)."""

    masks: MaskStore
    project: Project
    undo_stack: QUndoStack
    memory_stats: MemoryStats | None
    references_changed: Any  # Signal(int)
    _engine: EngineLike | None
    _references: ReferenceSync
    frame_count: int
    propagate: Callable[[int, int, str], bool]

    # ------------------------------------------------------------------ pins
    def set_pinned(self, frame: int, pinned: bool) -> str:
        """Pin (or unpin) the memory of ``frame``, one undo step -> what was done, for the user."""
        if pinned == (frame in self.project.pinned_frames):
            return f"Frame {frame} is {'already' if pinned else 'not'} pinned"
        mask = self._references.pin_mask(frame)
        if pinned and mask is None and not self._references.is_reference(frame):
            return f"Frame {frame} has no mask to pin (propagate it first)"
        text = f"{'Pin' if pinned else 'Unpin'} frame {frame}"
        before, after = (False, None), (True, mask)
        if not pinned:
            before, after = (True, mask), (False, None)
        self.undo_stack.push(StateCommand(text, functools.partial(self._apply_pin, frame), before, after))
        return f"Frame {frame} {'pinned: kept in memory as it is' if pinned else 'unpinned'}"

    def _apply_pin(self, frame: int, state: object) -> None:
        pinned, mask = state  # type: ignore[misc]
        pins = set(self.project.pinned_frames)
        if pinned:
            pins.add(frame)
        else:
            pins.discard(frame)
        self.project.pinned_frames = sorted(pins)
        self.masks.set_pin_mask(frame, mask if pinned else None)
        self.masks.request_save()
        if self._engine is not None:
            if pinned:
                self._engine.restore({}, {frame: mask})
            else:
                self._engine.unpin_frame(frame)

    # ------------------------------------------------------------------ evict
    def evict(self, frame: int, kind: EntryKind) -> str:
        """Take frame ``frame``'s entry of ``kind`` out of memory, one undo step -> what was done.
        A reference's permanent entry goes by making the frame an ordinary one (not a reference)."""
        pinned = frame in self.project.pinned_frames
        if kind == EntryKind.PERMANENT and self._references.is_reference(frame):
            text = f"Evict reference {frame}"
            apply = functools.partial(self._apply_reference_evicted, frame, pinned)
            self.undo_stack.push(StateCommand(text, apply, False, True))
            return (
                f"Frame {frame} is no longer a reference: its mask is kept but not used "
                "(Memory ▸ Use as reference brings it back)"
            )
        learnt = self._learnt([frame])
        if not learnt.predicted:
            return f"Frame {frame} has no mask to evict from"
        apply = functools.partial(self._apply_forgotten, learnt, [frame])
        self.undo_stack.push(StateCommand(f"Evict frame {frame}", apply, False, True))
        return f"Frame {frame} evicted from memory{' (and unpinned)' if pinned else ''}"

    def _apply_reference_evicted(self, frame: int, pinned: bool, evicted: object) -> None:
        if evicted and pinned:
            self._apply_pin(frame, (False, None))
        self._references.set_use(frame, not evicted)
        if not evicted and pinned:
            self._apply_pin(frame, (True, None))
        self.references_changed.emit(frame)

    # ------------------------------------------------------------------ reset and reseed
    def reset_memory(self, keep_permanent: bool = True, text: str | None = None) -> str:
        """Clear what memory learnt (the references too unless ``keep_permanent``; they are
        written again when the next run starts), one undo step -> what was done."""
        if self._engine is None:
            return "The engine is not ready"
        stats = self.memory_stats
        frames = [e.frame for e in stats.entries] if stats is not None else []
        learnt = self._learnt(frames)
        if not keep_permanent:  # pins of references go too (their entries are written anew)
            learnt = _Learnt(learnt.predicted, self._references.pins())
        text = text or ("Reset memory" if keep_permanent else "Reset all memory")
        apply = functools.partial(self._apply_reset, learnt, keep_permanent)
        self.undo_stack.push(StateCommand(text, apply, False, True))
        kept = len(self.project.reference_frames())
        if keep_permanent:
            return f"Memory reset: {len(learnt.predicted)} learnt frames dropped, {kept} references kept"
        return f"All memory reset: your {kept} references are written again when the next run starts"

    def reseed(self, frame: int) -> str | None:
        """Reset memory to the references and propagate from ``frame`` (its mask is the seed) to
        the end of the video (from the last frame: to the start) -> what was started, or None."""
        if self._engine is None or self.masks.get(frame) is None:
            return None
        last = self.frame_count - 1
        end, direction = (last, "forward") if frame < last else (0, "backward")
        if end == frame:
            return None
        self.reset_memory(True, f"Reseed from frame {frame}")
        self.propagate(frame, end, direction)
        kept = len(self.project.reference_frames())
        return f"Memory reset to your {kept} references; propagating {direction} from frame {frame} to {end}"

    def _apply_reset(self, learnt: _Learnt, keep_permanent: bool, reset: object) -> None:
        engine = self._engine
        if reset:
            for frame in learnt.pins:
                if learnt.pins[frame] is not None or not keep_permanent:
                    self._apply_pin(frame, (False, None))
            if engine is not None:
                engine.reset_memory(keep_permanent)
            return
        if engine is not None and learnt.predicted:
            engine.remember(learnt.predicted)
        for frame, mask in learnt.pins.items():
            if frame not in self.project.pinned_frames:
                self._apply_pin(frame, (True, mask))

    def _apply_forgotten(self, learnt: _Learnt, frames: list[int], forgotten: object) -> None:
        engine = self._engine
        if forgotten:
            for frame in learnt.pins:
                self._apply_pin(frame, (False, None))
            if engine is not None:
                engine.forget_predictions(frames)
            return
        if engine is not None:
            engine.remember(learnt.predicted)
        for frame, mask in learnt.pins.items():
            self._apply_pin(frame, (True, mask))

    def _learnt(self, frames: list[int]) -> _Learnt:
        """The predicted entries memory holds of ``frames`` (from the latest memory stats) with
        the masks to memorise them again, and their pins."""
        stats = self.memory_stats
        held = {
            e.frame for e in (stats.entries if stats is not None else ())
            if e.kind != EntryKind.PERMANENT and e.frame in frames
        }  # fmt: skip
        predicted: dict[int, np.ndarray] = {}
        pins: dict[int, np.ndarray | None] = {}
        for frame in sorted(held):
            mask = self._references.pin_mask(frame) if not self._references.is_reference(frame) else None
            if frame in self.project.pinned_frames:
                pins[frame] = mask
            if mask is not None:
                predicted[frame] = np.array(mask, copy=True)
        return _Learnt(predicted, pins)
