"""Undo commands (``QUndoCommand``) for mask edits, propagation runs and object changes.

All commands follow Qt's convention: pushing a command onto a ``QUndoStack`` calls ``redo()``.
``MaskEditCommand`` applies ``after`` on that first redo (applying an edit twice is harmless).
``PropagationRunCommand`` is built while a run streams in, when its masks are already in the store,
so its first redo does nothing (pass ``applied=False`` to build one that still has to be applied).
``StateCommand`` puts back any other document state (pins, memory operations, review marks)
through one function of the document.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtGui import QUndoCommand

from app.model.mask_files import MaskSource
from app.model.mask_store import MaskStore
from app.model.object_info import ObjectInfo
from app.model.objects import ObjectListModel

_UNSET = object()


def _apply(store: MaskStore, frame: int, labels: np.ndarray | None, source: MaskSource | None) -> None:
    if labels is None or source is None:
        store.clear(frame)
    else:
        store.set(frame, labels, source)


def _copy(labels: np.ndarray | None) -> np.ndarray | None:
    return None if labels is None else np.array(labels, dtype=np.uint8, copy=True)


class MaskEditCommand(QUndoCommand):
    """One user edit of one frame (brush stroke, polygon, fill, grabcut, clear).

    ``before``/``after`` are full label maps (None = no mask). ``after`` is stored with source
    ``after_source`` (default "user"); undo restores ``before`` with its previous source, which is
    read from the store when the command is created unless ``before_source`` is given (pass it when
    the edit was already applied to the store before creating the command).
    """

    def __init__(
        self,
        store: MaskStore,
        frame: int,
        before: np.ndarray | None,
        after: np.ndarray | None,
        text: str = "Edit mask",
        *,
        before_source: MaskSource | None | object = _UNSET,
        after_source: MaskSource = "user",
        parent: QUndoCommand | None = None,
    ) -> None:
        super().__init__(text, parent)
        self.store = store
        self.frame = int(frame)
        self.before = _copy(before)
        self.after = _copy(after)
        if before_source is _UNSET:
            before_source = store.source(self.frame) if before is not None else None
            if before is not None and before_source is None:
                before_source = "user"
        self.before_source: MaskSource | None = before_source  # type: ignore[assignment]
        self.after_source: MaskSource = after_source

    def redo(self) -> None:
        _apply(self.store, self.frame, self.after, self.after_source)

    def undo(self) -> None:
        _apply(self.store, self.frame, self.before, self.before_source)


@dataclass
class _RunChange:
    before: np.ndarray | None
    before_source: MaskSource | None
    after: np.ndarray


class PropagationRunCommand(QUndoCommand):
    """All masks written by one propagation run, undone/redone as one step.

    ``changes`` maps frame -> ``(before, after)`` (``before`` None when the frame had no mask);
    more are added with :meth:`record` while the run streams in. Undo puts ``before`` back only on
    frames that still hold what the run wrote, and redo puts ``after`` back only on frames that
    still hold what the undo left: a frame the user edited during or after the run keeps the edit.

    Memory follows: ``on_undo(frames)`` (after the masks) asks the engine to forget the entries the
    run made from its predictions (frames from :meth:`memorised`), ``on_redo(masks)`` to memorise
    those frames' masks again (frames whose redo was skipped are left out). Per-frame values the run
    wrote (``series``: name -> frame -> value, e.g. confidence and memory size for the plots, set
    through :meth:`set_value`) are put back by undo and redo, then ``on_values()`` is called.
    """

    def __init__(
        self,
        store: MaskStore,
        changes: dict[int, tuple[np.ndarray | None, np.ndarray]] | None = None,
        text: str = "Propagate",
        *,
        applied: bool = True,
        on_undo: Callable[[list[int]], None] | None = None,
        on_redo: Callable[[dict[int, np.ndarray]], None] | None = None,
        series: dict[str, dict[int, float]] | None = None,
        on_values: Callable[[], None] | None = None,
        parent: QUndoCommand | None = None,
    ) -> None:
        super().__init__(text, parent)
        self.store = store
        self.on_undo, self.on_redo, self.on_values = on_undo, on_redo, on_values
        self.series = series or {}
        self._changes: dict[int, _RunChange] = {}
        self._memorised: set[int] = set()
        self._values: dict[tuple[str, int], tuple[float | None, float]] = {}
        self._skip_redo = applied
        for frame, (before, after) in (changes or {}).items():
            self.record(frame, before, after)

    def record(
        self,
        frame: int,
        before: np.ndarray | None,
        after: np.ndarray,
        before_source: MaskSource | None | object = _UNSET,
    ) -> None:
        """Add one frame's change (a frame recorded twice keeps its first ``before``)."""
        if before_source is _UNSET:
            before_source = "propagated" if before is not None else None
        existing = self._changes.get(frame)
        if existing is not None:
            existing.after = np.array(after, dtype=np.uint8, copy=True)
            return
        source: MaskSource | None = before_source  # type: ignore[assignment]
        after_copy = np.array(after, dtype=np.uint8, copy=True)
        self._changes[int(frame)] = _RunChange(_copy(before), source, after_copy)

    def memorised(self, frame: int) -> None:
        """The engine made a memory entry from this frame's prediction during the run."""
        self._memorised.add(int(frame))

    def set_value(self, name: str, frame: int, value: float) -> None:
        """Write ``series[name][frame] = value``, remembering the value it replaces."""
        values = self.series[name]
        key = (name, int(frame))
        before = self._values[key][0] if key in self._values else values.get(frame)
        self._values[key] = (before, float(value))
        values[frame] = float(value)

    @property
    def frames(self) -> list[int]:
        return sorted(self._changes)

    def __len__(self) -> int:
        return len(self._changes)

    def _holds(self, frame: int, labels: np.ndarray | None, source: MaskSource | None) -> bool:
        """True when the store's mask of ``frame`` is ``labels`` from ``source``."""
        if labels is None:
            return not self.store.has_mask(frame)
        current = self.store.get(frame)
        return (
            current is not None
            and self.store.source(frame) == source
            and np.array_equal(current, labels)
        )

    def redo(self) -> None:
        if self._skip_redo:
            self._skip_redo = False
            return
        for frame, change in sorted(self._changes.items()):
            if self._holds(frame, change.before, change.before_source):
                _apply(self.store, frame, change.after, "propagated")
        self._restore_values(after=True)
        if self.on_redo is not None:
            masks = {}
            for frame in sorted(self._memorised):
                labels = self.store.get(frame)
                if labels is not None and self.store.source(frame) == "propagated":
                    masks[frame] = labels
            self.on_redo(masks)

    def undo(self) -> None:
        for frame, change in sorted(self._changes.items()):
            if self._holds(frame, change.after, "propagated"):
                _apply(self.store, frame, change.before, change.before_source)
        self._restore_values(after=False)
        if self.on_undo is not None:
            self.on_undo(sorted(set(self._changes) | self._memorised))

    def _restore_values(self, after: bool) -> None:
        for (name, frame), (before, later) in self._values.items():
            value = later if after else before
            if value is None:
                self.series[name].pop(frame, None)
            else:
                self.series[name][frame] = value
        if self._values and self.on_values is not None:
            self.on_values()


class AddObjectCommand(QUndoCommand):
    """Add an object (default: next free id, default name and colour)."""

    def __init__(
        self,
        model: ObjectListModel,
        info: ObjectInfo | None = None,
        text: str | None = None,
        parent: QUndoCommand | None = None,
    ) -> None:
        self.model = model
        self.info = info or ObjectInfo.new(model.next_free_id())
        super().__init__(text or f"Add {self.info.name}", parent)

    def redo(self) -> None:
        if self.info.id not in self.model:
            self.model.insert(self.info)

    def undo(self) -> None:
        if self.info.id in self.model:
            self.model.remove(self.info.id)


class RemoveObjectCommand(QUndoCommand):
    """Remove an object; with ``store``, its pixels are erased from every mask too (undo puts them
    back). Erasing reads every stored mask once."""

    def __init__(
        self,
        model: ObjectListModel,
        object_id: int,
        store: MaskStore | None = None,
        text: str | None = None,
        parent: QUndoCommand | None = None,
    ) -> None:
        info = model.get(object_id)
        if info is None:
            raise KeyError(f"no object with id {object_id}")
        super().__init__(text or f"Remove {info.name}", parent)
        self.model = model
        self.store = store
        self.info = info
        self.row = model.row_of(object_id)
        self._erased: dict[int, tuple[np.ndarray, MaskSource]] = {}

    def redo(self) -> None:
        self.row = self.model.row_of(self.info.id)
        if self.store is not None:
            self._erased.clear()
            for frame in self.store.frames():
                labels = self.store.get(frame)
                source = self.store.source(frame)
                if labels is None or source is None or not (labels == self.info.id).any():
                    continue
                self._erased[frame] = (labels.copy(), source)
                after = labels.copy()
                after[after == self.info.id] = 0
                self.store.set(frame, after, source)
        if self.row >= 0:
            self.model.remove(self.info.id)

    def undo(self) -> None:
        if self.info.id not in self.model:
            self.model.insert(self.info, self.row if self.row >= 0 else None)
        if self.store is not None:
            for frame, (labels, source) in sorted(self._erased.items()):
                self.store.set(frame, labels, source)


class RenameObjectCommand(QUndoCommand):
    def __init__(
        self, model: ObjectListModel, object_id: int, name: str, parent: QUndoCommand | None = None
    ) -> None:
        info = model.get(object_id)
        if info is None:
            raise KeyError(f"no object with id {object_id}")
        super().__init__(f"Rename {info.name} to {name}", parent)
        self.model, self.object_id, self.old, self.new = model, object_id, info.name, name

    def redo(self) -> None:
        self.model.rename(self.object_id, self.new)

    def undo(self) -> None:
        self.model.rename(self.object_id, self.old)


class RecolourObjectCommand(QUndoCommand):
    def __init__(
        self, model: ObjectListModel, object_id: int, colour: str, parent: QUndoCommand | None = None
    ) -> None:
        info = model.get(object_id)
        if info is None:
            raise KeyError(f"no object with id {object_id}")
        super().__init__(f"Change colour of {info.name}", parent)
        self.model, self.object_id, self.old, self.new = model, object_id, info.colour, colour

    def redo(self) -> None:
        self.model.recolour(self.object_id, self.new)

    def undo(self) -> None:
        self.model.recolour(self.object_id, self.old)


class StateCommand(QUndoCommand):
    """A change of document state that is not a mask (a pin, an eviction, a memory reset, a review
    mark) as one undo step: ``apply(after)`` on redo and ``apply(before)`` on undo, where the two
    states are whatever ``apply`` understands (e.g. a frozen dataclass of the memory state)."""

    def __init__(
        self,
        text: str,
        apply: Callable[[object], None],
        before: object,
        after: object,
        parent: QUndoCommand | None = None,
    ) -> None:
        super().__init__(text, parent)
        self._apply, self.before, self.after = apply, before, after

    def redo(self) -> None:
        self._apply(self.after)

    def undo(self) -> None:
        self._apply(self.before)
