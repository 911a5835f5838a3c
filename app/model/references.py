"""``ReferenceSync``: keeps the engine's references in step with the document's masks.

A frame is a reference when its mask was made by the user ("user" source) and it is not marked
"not a reference" (``Project.not_references``). The document calls :meth:`ReferenceSync.sync` for
every frame the mask store changes (edit, erase, clear, import, GrabCut, clicks, undo, redo): the
engine is told ``set_reference`` for a reference, or ``remove_reference`` for a frame it was told
about before. Only frames told before get a removal, so predicted results send no message.

Pins: a pinned reference needs no mask of its own; a pinned prediction is sent with the mask it was
pinned with (``MaskStore.pin_mask``; older projects: the frame's stored mask), so the engine encodes
the very entry it held before the project was closed.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from app.model.mask_store import MaskStore
from app.model.project import Project


class ReferenceEngine(Protocol):
    """What the sync needs of an ``app.workers.engine_client.EngineClient``."""

    def set_reference(self, frame: int, labels: np.ndarray) -> None: ...

    def remove_reference(self, frame: int) -> None: ...

    def restore(
        self, references: dict[int, np.ndarray], pins: dict[int, np.ndarray | None] | None = ...
    ) -> None: ...

    def unpin_frame(self, frame: int) -> None: ...


class ReferenceSync:
    """The references of one document's ``masks`` and ``project``, and what the engine was told."""

    def __init__(self, masks: MaskStore, project: Project) -> None:
        self.masks = masks
        self.project = project
        self.engine: ReferenceEngine | None = None
        self.told: set[int] = set()  # frames the engine was told are references

    def is_reference(self, frame: int) -> bool:
        return self.masks.source(frame) == "user" and frame not in self.project.not_references

    def set_use(self, frame: int, use: bool) -> bool:
        """Mark ``frame`` as a reference (the default) or not -> True when the mark changed."""
        if use == (frame not in self.project.not_references):
            return False
        if use:
            self.project.not_references.discard(frame)
        else:
            self.project.not_references.add(frame)
        self.masks.request_save()
        self.sync(frame)
        return True

    def sync(self, frame: int) -> None:
        """Tell the engine what ``frame`` is now: a reference (with its mask) or not."""
        if self.engine is None:
            return
        if self.is_reference(frame):
            labels = self.masks.get(frame)
            if labels is not None:
                self.engine.set_reference(frame, labels)
                self.told.add(frame)
                return
        if frame in self.told:
            self.told.discard(frame)
            self.engine.remove_reference(frame)

    def attach(self, engine: ReferenceEngine) -> None:
        """Send ``engine`` every reference and the pinned frames (frame -> stored mask) at once."""
        self.engine = engine
        references = {}
        for frame in self.project.reference_frames():
            labels = self.masks.get(frame)
            if labels is not None:
                references[frame] = labels
        pins = self.pins()
        self.told = set(references)
        if references or pins:
            engine.restore(references, pins)

    def restore_pins(self) -> None:
        """Send the pinned frames again (after the engine rebuilt its session, which replays its
        references and their pins but has no mask for a pinned predicted frame)."""
        pins = self.pins()
        if self.engine is not None and pins:
            self.engine.restore({}, pins)

    def pin_mask(self, frame: int) -> np.ndarray | None:
        """What a pin of ``frame`` is sent with: None for a reference, else its pin mask."""
        if self.is_reference(frame):
            return None
        pinned = self.masks.pin_mask(frame)
        return pinned if pinned is not None else self.masks.get(frame)

    def pins(self) -> dict[int, np.ndarray | None]:
        """The project's pinned frames -> what each pin is sent with."""
        return {frame: self.pin_mask(frame) for frame in self.project.pinned_frames}

    def detach(self) -> None:
        self.engine = None
        self.told.clear()
