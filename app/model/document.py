"""``Document``: one opened video with its project, masks, objects, undo stack and engine state.

The views hold one ``Document``. It decodes only the displayed frame on the GUI thread
(:meth:`frame`, small LRU). Engine results are applied by :meth:`apply_result` (connect an
``EngineClient`` with :meth:`attach_engine`; both in :mod:`app.model.document_runs`): predicted
masks go into the store as "propagated" (a "user" frame is never overwritten) and each run becomes
one undo step.

References: every "user" frame not marked "not a reference" (:meth:`set_use_as_reference`) is one
of the engine's references. One observer keeps the engine in step: whenever the mask store changes
a frame (edit, erase, clear, import, GrabCut, clicks, undo, redo) the document tells the engine
that the frame is a reference (``set_reference``) or, if it had said so before, that it is not any
more (``remove_reference``). On attach, the project's references and pinned frames are sent in one
go (``restore``; the engine encodes them when the next run starts).

Corrections and reviews (:mod:`app.model.review`): an edit through :meth:`user_edit` makes a frame a
reference only when it is a correction (a stroke that changes more than a tiny part of a
propagated mask); a key edit or a tiny change leaves it a *reviewed* frame (kept, not a reference),
and :meth:`mark_reviewed` records a check without a change. Memory operations (pin, evict, reset,
reseed) are undo steps (:mod:`app.model.document_memory`).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from app.model.document_memory import MemoryOps
from app.model.document_runs import EngineLike, EngineRuns
from app.model.mask_files import check_labels
from app.model.mask_store import MaskStore
from app.model.object_info import ObjectInfo
from app.model.objects import ObjectListModel
from app.model.project import Project
from app.model.references import ReferenceSync
from app.model.review import ReviewState, is_correction, review_state
from app.model.settings import config_from_dict, config_to_dict
from app.model.undo import (
    AddObjectCommand,
    MaskEditCommand,
    PropagationRunCommand,
    RecolourObjectCommand,
    RemoveObjectCommand,
    RenameObjectCommand,
    StateCommand,
)
from vos_core import (
    FrameCache,
    FrameSource,
    MemoryStats,
    SessionConfig,
    VosError,
    open_source,
)

__all__ = ["Document", "EngineLike"]


class Document(QObject, EngineRuns, MemoryOps):
    """Everything about one opened video. Create with :meth:`open`; call :meth:`close` at the end."""

    current_changed = Signal(int)
    confidence_changed = Signal(int)  # frame, or -1 for many frames
    memory_changed = Signal(object)  # MemoryStats | None
    references_changed = Signal(int)  # frame whose "use as reference" mark changed
    problem = Signal(str)  # user-facing message (unreadable mask, failed autosave, bad frame)

    def __init__(
        self,
        source: FrameSource,
        project: Project,
        frame_cache_size: int = 16,
        autosave_ms: int = 500,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.source = source
        self.project = project
        self.masks = MaskStore(project, autosave_ms=autosave_ms, parent=self)
        self.objects = ObjectListModel(project.objects, parent=self)
        self.undo_stack = QUndoStack(self)
        self.memory_stats: MemoryStats | None = None
        #: memory size (MB) after each processed frame, for the plot (reverted with a run's undo)
        self.memory_mb: dict[int, float] = {}
        self._frames = FrameCache(frame_cache_size)
        self._run: PropagationRunCommand | None = None
        self._engine: EngineLike | None = None
        self._references = ReferenceSync(self.masks, project)
        self._closed = False
        self.masks.problem.connect(self.problem)
        self.masks.changed.connect(self._on_mask_changed)
        self.objects.objects_changed.connect(self._on_objects_changed)

    @classmethod
    def open(cls, path: str | Path, project_dir: str | Path | None = None, **kwargs: Any) -> Document:
        """Open a video file or frame folder and create/resume its project.
        Raises ``VosInputError`` / ``ProjectError`` (``VosError``) with a user-facing message."""
        source = open_source(path)
        try:
            project = Project.open_for(path, project_dir, source=source)
        except BaseException:
            source.close()
            raise
        return cls(source, project, **kwargs)

    # ------------------------------------------------------------------ video
    @property
    def store(self) -> MaskStore:
        """Alias of :attr:`masks`."""
        return self.masks

    @property
    def frame_count(self) -> int:
        return len(self.source)

    @property
    def size(self) -> tuple[int, int]:
        """``(H, W)`` of the frames."""
        return self.source.size

    @property
    def fps(self) -> float:
        return self.source.fps

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def video_path(self) -> Path:
        return self.project.video_path

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` as read-only ``H×W×3`` RGB. An undecodable frame gives a black image
        (and ``problem``) rather than an exception."""
        cached = self._frames.get(index)
        if cached is not None:
            return cached
        try:
            rgb = self.source.read(index)
        except VosError as error:
            self.problem.emit(str(error))
            rgb = np.zeros((*self.size, 3), dtype=np.uint8)
        rgb.flags.writeable = False
        self._frames.put(index, rgb)
        return rgb

    @property
    def current_frame(self) -> int:
        return self.project.current_frame

    @current_frame.setter
    def current_frame(self, index: int) -> None:
        self.set_current_frame(index)

    def set_current_frame(self, index: int) -> None:
        index = max(0, min(int(index), self.frame_count - 1))
        if index == self.project.current_frame:
            return
        self.project.current_frame = index
        self.masks.request_save()
        self.current_changed.emit(index)

    # ------------------------------------------------------------------ per-frame state
    @property
    def confidence(self) -> dict[int, float]:
        """Confidence (0..1) of every frame the engine processed (kept in the project)."""
        return self.project.confidence

    def mask(self, index: int) -> np.ndarray | None:
        return self.masks.get(index)

    @property
    def settings(self) -> SessionConfig:
        return config_from_dict(self.project.settings)

    def set_settings(self, config: SessionConfig) -> None:
        self.project.settings = config_to_dict(config)
        self.masks.request_save()

    def set_memory_stats(self, stats: MemoryStats | None) -> None:
        if self._closed:  # the engine's answers queued before the close still arrive: not ours
            return
        self.memory_stats = stats  # (the pins are the document's: set_pinned, saved in the project)
        self.memory_changed.emit(stats)

    # ------------------------------------------------------------------ references
    def is_reference(self, frame: int) -> bool:
        """True when ``frame`` has a user mask that is not marked "not a reference"."""
        return self._references.is_reference(frame)

    def reference_frames(self) -> list[int]:
        return self.project.reference_frames()

    def restore_pins(self) -> None:
        """Tell the engine the saved pins again (after a settings change rebuilt its session)."""
        self._references.restore_pins()

    def set_use_as_reference(self, frame: int, use: bool) -> None:
        """Mark a frame's user mask as a reference (the default) or not; saved in the project. A
        reviewed frame used as a reference is a correction (no longer only reviewed); a propagated
        one becomes the user's mask, as it is (one undo step)."""
        if use and self.masks.source(frame) == "propagated":  # accepting a prediction: a correction
            self.project.not_references.discard(frame)
            self.project.reviewed.discard(frame)
            self.edit_mask(frame, self.masks.get(frame), "Use as reference")  # now the user's mask
            self.references_changed.emit(frame)
            return
        reviewed = use and frame in self.project.reviewed
        if reviewed:
            self.project.reviewed.discard(frame)
        if self._references.set_use(frame, use) or reviewed:
            self.references_changed.emit(frame)

    # ------------------------------------------------------------------ corrections and reviews
    def review_state(self, frame: int) -> ReviewState | None:
        """"corrected" (a reference), "reviewed", "user" (not a reference), "propagated", or None."""
        reviewed = frame in self.project.reviewed
        return review_state(self.masks.source(frame), self.is_reference(frame), reviewed)

    def reviewed_frames(self) -> list[int]:
        """Every frame a person checked: the corrections (references) and the reviewed frames (for
        an export's "reviewed" flag)."""
        return sorted(set(self.reference_frames()) | (self.project.reviewed & set(self.masks.frames())))

    def reviewed_only(self) -> list[int]:
        """The frames reviewed but not corrected (the timeline's reviewed marks)."""
        return [f for f in self.masks.annotated_frames() if self.review_state(f) == "reviewed"]

    def user_edit(self, frame: int, labels: np.ndarray | None, text: str) -> None:
        """An edit made on the canvas (``text``: its name): a correction makes the frame a reference;
        a key edit or a tiny change of a propagated mask leaves it a reviewed frame. One undo step."""
        state = self.review_state(frame)
        before = self.masks.get(frame)
        correction = is_correction(before, state, labels, text)
        if correction and state != "reviewed":
            self.edit_mask(frame, labels, text)
            return
        marks = (not correction, not correction)  # (reviewed, kept out of memory)
        self.undo_stack.beginMacro(text if correction else f"{text} (reviewed)")
        try:
            old = (frame in self.project.reviewed, frame in self.project.not_references)
            apply = functools.partial(self._apply_review, frame, None)
            self.undo_stack.push(StateCommand(text, apply, old, marks))
            self.edit_mask(frame, labels, text)
        finally:
            self.undo_stack.endMacro()

    def mark_reviewed(self, frame: int) -> str:
        """Record that ``frame`` was checked, without changing its mask (one undo step): it is kept
        as it is (a run no longer overwrites it) and stays out of memory -> what was done."""
        state = self.review_state(frame)
        if state is None:
            return f"Frame {frame} has no mask to review"
        if state == "corrected":
            return f"Frame {frame} is a correction (a reference): it counts as reviewed"
        if state == "reviewed":
            return f"Frame {frame} is reviewed already"
        old = (False, frame in self.project.not_references)
        source = self.masks.source(frame)
        apply = functools.partial(self._apply_review, frame, source)
        self.undo_stack.push(StateCommand(f"Mark frame {frame} reviewed", apply, old, (True, True)))
        return f"Frame {frame} marked reviewed (kept as it is, not a reference)"

    def _apply_review(self, frame: int, source: str | None, marks: object) -> None:
        """Set the review marks ``(reviewed, not a reference)`` of ``frame``; with ``source`` (the
        mask's source before the review), the mask is the user's while reviewed, else that source."""
        reviewed, kept_out = marks  # type: ignore[misc]
        for present, frames in ((reviewed, self.project.reviewed), (kept_out, self.project.not_references)):
            if present:
                frames.add(frame)
            else:
                frames.discard(frame)
        labels = self.masks.get(frame)
        if source is not None and labels is not None:
            self.masks.set(frame, labels, "user" if reviewed else source)  # type: ignore[arg-type]
        self.masks.request_save()
        self._references.sync(frame)
        self.references_changed.emit(frame)

    # ------------------------------------------------------------------ user edits (undoable)
    def edit_mask(self, frame: int, labels: np.ndarray | None, text: str = "Edit mask") -> None:
        """Replace the mask of ``frame`` by a user mask (None clears it), as one undo step."""
        before = self.masks.get(frame)
        self.undo_stack.push(MaskEditCommand(self.masks, frame, before, labels, text))

    def clear_mask(self, frame: int) -> None:
        if self.masks.has_mask(frame):
            self.edit_mask(frame, None, "Clear mask")

    def import_masks(self, masks: dict[int, np.ndarray], text: str = "Import annotations") -> None:
        """Set many user masks as one undo step; unknown label values become objects. Everything is
        checked first (``ValueError``: wrong size, labels outside 0..255), so a refused import
        changes nothing."""
        for frame, labels in masks.items():
            if not 0 <= frame < self.frame_count:
                raise ValueError(f"frame {frame} is outside the video (0..{self.frame_count - 1})")
            check_labels(labels, self.size)
        self.undo_stack.beginMacro(text)
        try:
            for frame, labels in sorted(masks.items()):
                for value in np.unique(labels):
                    if value:
                        self.objects.ensure(int(value))
                self.edit_mask(frame, labels, text)
        finally:
            self.undo_stack.endMacro()

    def add_object(self, name: str | None = None, colour: str | None = None) -> ObjectInfo:
        info = ObjectInfo.new(self.objects.next_free_id(), name, colour)
        self.undo_stack.push(AddObjectCommand(self.objects, info))
        return info

    def remove_object(self, object_id: int, erase_masks: bool = True) -> None:
        """Remove an object (and its pixels from every mask) as one undo step; the engine forgets
        it too. Undo restores the masks; the engine relearns it from the next committed frame."""
        store = self.masks if erase_masks else None
        self.undo_stack.push(RemoveObjectCommand(self.objects, object_id, store))
        if self._engine is not None:
            self._engine.remove_object(object_id)

    def rename_object(self, object_id: int, name: str) -> None:
        self.undo_stack.push(RenameObjectCommand(self.objects, object_id, name))

    def recolour_object(self, object_id: int, colour: str) -> None:
        self.undo_stack.push(RecolourObjectCommand(self.objects, object_id, colour))

    # ------------------------------------------------------------------ lifetime
    def save(self) -> bool:
        """Write everything now; False when some write failed (see ``problem``)."""
        self.masks.request_save()
        return self.masks.flush()

    def close(self) -> None:
        if self._closed:
            return
        self.detach_engine()
        self._closed = True
        self.masks.close()
        self.source.close()
        self._frames.clear()

    # ------------------------------------------------------------------ internals
    def _on_mask_changed(self, frame: int) -> None:
        self._references.sync(frame)
        if not self.masks.has_mask(frame) and frame not in self.project.confidence:
            self.confidence_changed.emit(frame)

    def _on_objects_changed(self) -> None:
        self.project.objects = self.objects.objects()
        self.masks.request_save()
