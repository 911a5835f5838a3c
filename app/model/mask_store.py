"""``MaskStore``: the per-frame label maps of a project, cached in memory and autosaved.

Reads come from an LRU cache, else from the project's mask files. Writes are applied in memory at
once (``changed`` is emitted) and reach the disk shortly after: a debounce timer (at most
``autosave_ms`` after the first unsaved change) hands them, as one write batch, to a background
:class:`~app.workers.worker.Job` that writes each mask atomically and then ``project.json``; one
batch runs at a time (changes made meanwhile go in the next one). ``flush()`` waits for all of it.
A mask is kept in memory until its write is confirmed, so a failed write (disk full, read-only
folder) loses nothing: it is reported through ``problem`` and retried by the next save. The masks
pinned predictions were pinned with (``pin_mask``/``set_pin_mask``, ``pins/`` of the project) are
saved the same way.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from app.model.mask_files import MaskSource, check_labels, check_source
from app.model.project import Project
from app.workers.worker import Job
from vos_core import VosError

DEFAULT_CACHE_BYTES = 256 * 1024 * 1024
DEFAULT_AUTOSAVE_MS = 500


@dataclass(frozen=True)
class _Unsaved:
    """A change not yet confirmed on disk: ``labels`` None means the mask was cleared."""

    seq: int
    labels: np.ndarray | None
    source: MaskSource | None


@dataclass(frozen=True)
class _Write:
    frame: int | None  # None: the project.json write
    seq: int
    labels: np.ndarray | None = None
    source: MaskSource | None = None
    snapshot: dict = field(default_factory=dict)
    pin: bool = False  # a pin mask (``pins/``), not the frame's mask


class _WriteBatch(Job):
    """Writes masks (or deletes their files), then ``project.json``; keeps each write's error."""

    def __init__(self, project: Project, writes: list[_Write]) -> None:
        super().__init__()
        self.project = project
        self.writes = writes
        self.errors: list[tuple[_Write, BaseException | None]] = []

    def work(self) -> object:
        for write in self.writes:
            try:
                if write.frame is None:
                    self.project.write_json(write.snapshot)
                elif write.pin:
                    self.project.write_pin_mask(write.frame, write.labels)
                elif write.labels is None:
                    self.project.delete_mask(write.frame)
                else:
                    assert write.source is not None
                    self.project.write_mask(write.frame, write.labels, write.source)
            except Exception as error:  # noqa: BLE001 - reported by the store, retried later
                self.errors.append((write, error))
            else:
                self.errors.append((write, None))
        return None


def _frozen(labels: np.ndarray) -> np.ndarray:
    array = np.array(labels, dtype=np.uint8, copy=True)
    array.flags.writeable = False
    return array


class MaskStore(QObject):
    """Label maps by frame. Arrays returned by :meth:`get` are read-only: copy before editing."""

    changed = Signal(int)
    problem = Signal(str)
    saved = Signal()

    def __init__(
        self,
        project: Project,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        autosave_ms: int = DEFAULT_AUTOSAVE_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.project = project
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_bytes = 0
        self._cache_limit = max(0, int(cache_bytes))
        self._unsaved: dict[int, _Unsaved] = {}
        self._dirty: set[int] = set()
        self._pins: dict[int, _Unsaved] = {}  # pin masks not yet confirmed on disk
        self._pins_dirty: set[int] = set()
        self._meta_dirty = False
        self._seq = 0
        self._batch: _WriteBatch | None = None
        self._deferred = False  # a save was asked for while a batch ran
        self._failed = False
        self._closed = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(max(0, min(int(autosave_ms), 1000)))
        self._timer.timeout.connect(self._submit)

    # ------------------------------------------------------------------ queries
    @property
    def frame_count(self) -> int:
        return self.project.frame_count

    @property
    def size(self) -> tuple[int, int]:
        return self.project.size

    def source(self, frame: int) -> MaskSource | None:
        """``"user"``, ``"propagated"`` or None (no mask)."""
        return self.project.sources.get(frame)

    def has_mask(self, frame: int) -> bool:
        return frame in self.project.sources

    def annotated_frames(self) -> list[int]:
        return self.project.annotated_frames()

    def propagated_frames(self) -> list[int]:
        return self.project.propagated_frames()

    def frames(self) -> list[int]:
        """All frames that have a mask, sorted."""
        return sorted(self.project.sources)

    def get(self, frame: int) -> np.ndarray | None:
        """The ``H×W`` uint8 label map of ``frame`` (read-only), or None when it has none."""
        unsaved = self._unsaved.get(frame)
        if unsaved is not None:
            return unsaved.labels
        cached = self._cache.get(frame)
        if cached is not None:
            self._cache.move_to_end(frame)
            return cached
        if frame not in self.project.sources:
            return None
        labels = self.project.read_mask(frame)
        if labels is None:  # unreadable: forget the frame and tell (later: we may be painting)
            self.project.sources.pop(frame, None)
            self.project.confidence.pop(frame, None)
            self._meta_dirty = True
            self._schedule()
            message = self.project.problems[-1] if self.project.problems else "mask unreadable"
            QTimer.singleShot(0, self, functools.partial(self._report_unreadable, frame, message))
            return None
        labels.flags.writeable = False
        self._remember(frame, labels)
        return labels

    def pin_mask(self, frame: int) -> np.ndarray | None:
        """The mask a pinned prediction of ``frame`` was pinned with (read-only), or None."""
        unsaved = self._pins.get(frame)
        if unsaved is not None:
            return unsaved.labels
        labels = self.project.read_pin_mask(frame)
        if labels is not None:
            labels.flags.writeable = False
        return labels

    # ------------------------------------------------------------------ changes
    def set_pin_mask(self, frame: int, labels: np.ndarray | None) -> None:
        """Keep ``labels`` as the mask frame ``frame`` is pinned with (None: forget it)."""
        self._check_frame(frame)
        array = None if labels is None else _frozen(check_labels(labels, self.project.size))
        self._seq += 1
        self._pins[frame] = _Unsaved(self._seq, array, None)
        self._pins_dirty.add(frame)
        self._schedule()

    def set(self, frame: int, labels: np.ndarray, source: MaskSource) -> None:
        """Store the mask of ``frame`` made by ``source`` ("user" or "propagated")."""
        self._check_frame(frame)
        array = _frozen(check_labels(labels, self.project.size))
        self._change(frame, array, check_source(source))

    def clear(self, frame: int) -> None:
        """Remove the mask of ``frame`` (its file is deleted by the next save)."""
        self._check_frame(frame)
        if frame not in self.project.sources and frame not in self._unsaved:
            return
        self._change(frame, None, None)

    def request_save(self) -> None:
        """Mark ``project.json`` for the next autosave (objects, current frame, settings...)."""
        self._meta_dirty = True
        self._schedule()

    def flush(self, timeout: float | None = None) -> bool:
        """Write everything pending now and wait for it; True when all writes succeeded."""
        self._timer.stop()
        wait_ms = 2**31 - 1 if timeout is None else int(timeout * 1000)
        self._wait_batch(wait_ms)  # the batch running now, then everything left
        self._submit()
        self._wait_batch(wait_ms)
        return not self._failed and not self._dirty and not self._meta_dirty and not self._pins_dirty

    @property
    def pending(self) -> int:
        """Number of masks changed in memory but not yet confirmed on disk."""
        return len(self._unsaved)

    @property
    def all_saved(self) -> bool:
        """True when every change (masks and ``project.json``) is confirmed on disk."""
        unsaved = self._unsaved or self._pins
        return not (unsaved or self._meta_dirty or self._batch is not None or self._failed)

    def close(self) -> None:
        """Flush and stop the writer thread. The store must not be changed afterwards."""
        if self._closed:
            return
        self.flush()
        self._closed = True
        self._wait_batch(2**31 - 1)

    # ------------------------------------------------------------------ internals
    def _check_frame(self, frame: int) -> None:
        if self._closed:
            raise RuntimeError("the mask store is closed")
        if not 0 <= frame < self.project.frame_count:
            raise IndexError(f"frame {frame} is outside the video (0..{self.project.frame_count - 1})")

    def _change(self, frame: int, labels: np.ndarray | None, source: MaskSource | None) -> None:
        self._seq += 1
        self._unsaved[frame] = _Unsaved(self._seq, labels, source)
        self._dirty.add(frame)
        self._meta_dirty = True
        if labels is None:
            self.project.sources.pop(frame, None)
            self.project.confidence.pop(frame, None)
            self._forget(frame)
        else:
            assert source is not None
            self.project.sources[frame] = source
            self._remember(frame, labels)
        self._schedule()
        self.changed.emit(frame)

    def _remember(self, frame: int, labels: np.ndarray) -> None:
        self._forget(frame)
        self._cache[frame] = labels
        self._cache_bytes += labels.nbytes
        while self._cache_bytes > self._cache_limit and self._cache:
            _, dropped = self._cache.popitem(last=False)
            self._cache_bytes -= dropped.nbytes

    def _forget(self, frame: int) -> None:
        old = self._cache.pop(frame, None)
        if old is not None:
            self._cache_bytes -= old.nbytes

    def _schedule(self) -> None:
        if not self._closed and not self._timer.isActive():
            self._timer.start()  # not restarted by later changes: saves within the interval

    def _submit(self) -> None:
        if self._closed or not (self._dirty or self._meta_dirty or self._pins_dirty):
            return
        if self._batch is not None:  # one batch at a time: this one follows when it ends
            self._deferred = True
            return
        self._deferred = False
        self._failed = False
        writes = []
        for frame in sorted(self._dirty):
            change = self._unsaved[frame]
            writes.append(_Write(frame, change.seq, change.labels, change.source))
        for frame in sorted(self._pins_dirty):
            change = self._pins[frame]
            writes.append(_Write(frame, change.seq, change.labels, pin=True))
        self._dirty.clear()
        self._pins_dirty.clear()
        self._meta_dirty = False
        # masks first, then the JSON that lists them
        writes.append(_Write(None, self._seq, snapshot=self.project.to_json()))
        batch = _WriteBatch(self.project, writes)
        batch.ended.connect(self._collect)
        self._batch = batch
        batch.start()

    def _wait_batch(self, timeout_ms: int) -> None:
        batch = self._batch
        if batch is not None and batch.wait(timeout_ms):
            self._collect(resubmit=False)

    def _collect(self, resubmit: bool = True) -> None:
        batch = self._batch
        if batch is None or not batch.finished_running:
            return
        batch.wait()
        self._batch = None
        messages: list[str] = []
        for write, error in batch.errors:
            if error is not None:
                self._failed = True
                messages.append(str(error) if isinstance(error, VosError) else repr(error))
                if write.frame is None:
                    self._meta_dirty = True
                elif write.pin:
                    self._pins_dirty.add(write.frame)
                elif write.frame in self._unsaved:
                    self._dirty.add(write.frame)  # retried by the next save
                continue
            pending = self._pins if write.pin else self._unsaved
            change = pending.get(write.frame) if write.frame is not None else None
            if change is not None and change.seq == write.seq:
                del pending[write.frame]  # type: ignore[arg-type]
        for message in dict.fromkeys(messages):
            self.problem.emit(f"Autosave failed: {message}")
        if not self._failed and not self._deferred:
            self.saved.emit()
        if self._deferred and resubmit:
            self._deferred = False
            self._submit()

    def _report_unreadable(self, frame: int, message: str) -> None:
        self.problem.emit(message)
        self.changed.emit(frame)
