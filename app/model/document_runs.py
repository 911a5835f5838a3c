"""The engine side of a :class:`~app.model.document.Document`: what it needs of an engine client
(:class:`EngineLike`), and :class:`EngineRuns`, the part of the document that talks to the engine:
attaching it, asking for runs and reseeds, and applying its results. Predicted masks go into the
store as "propagated" (a "user" frame is never overwritten) and each run becomes one undo step (a
``PropagationRunCommand`` whose undo and redo tell the engine to forget or memorise its frames).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from app.model.mask_store import MaskStore
from app.model.objects import ObjectListModel
from app.model.project import Project
from app.model.references import ReferenceEngine, ReferenceSync
from app.model.undo import PropagationRunCommand
from vos_core import EntryKind, FrameResult, MemoryStats


class EngineLike(ReferenceEngine, Protocol):
    """What the document needs of an ``app.workers.engine_client.EngineClient``."""

    frame_ready: Any
    run_started: Any
    run_finished: Any
    memory_changed: Any

    def remember(self, masks: dict[int, np.ndarray]) -> None: ...

    def reset_memory(self, keep_permanent: bool = ...) -> None: ...

    def propagate(self, start: int, end: int, direction: str = ..., seed: object = ...) -> None: ...

    def remove_object(self, object_id: int) -> None: ...

    def forget_predictions(self, frames: list[int]) -> None: ...


class EngineRuns:
    """Mixed into ``Document`` (a ``QObject``, which owns the state below): its engine and runs."""

    masks: MaskStore
    objects: ObjectListModel
    project: Project
    memory_mb: dict[int, float]
    confidence_changed: Any  # Signal(int)
    _engine: EngineLike | None
    _run: PropagationRunCommand | None
    _references: ReferenceSync
    _closed: bool
    set_memory_stats: Callable[[MemoryStats | None], None]

    # ------------------------------------------------------------------ engine results
    def attach_engine(self, engine: EngineLike) -> None:
        """Route an engine client's results into this document."""
        self.detach_engine()
        self._engine = engine
        engine.frame_ready.connect(self.apply_result)
        engine.run_started.connect(self._on_run_started)
        engine.run_finished.connect(self._on_run_finished)
        engine.memory_changed.connect(self.set_memory_stats)
        self._references.attach(engine)

    def detach_engine(self) -> None:
        engine, self._engine = self._engine, None
        self._references.detach()
        if engine is None:
            return
        for signal, slot in (
            (engine.frame_ready, self.apply_result),
            (engine.run_started, self._on_run_started),
            (engine.run_finished, self._on_run_finished),
            (engine.memory_changed, self.set_memory_stats),
        ):
            with contextlib.suppress(RuntimeError, TypeError):
                signal.disconnect(slot)
        self.end_run()

    def propagate(self, start: int, end: int, direction: str = "forward") -> bool:
        """Ask the engine to propagate from ``start`` (its stored mask is the seed) to ``end``."""
        if self._engine is None:
            return False
        self._engine.propagate(start, end, direction, self.masks.get(start))
        return True

    def begin_run(self, text: str = "Propagate") -> None:
        """Start collecting results into one undo step (ends a run still open)."""
        self.end_run()
        self._run = PropagationRunCommand(
            self.masks,
            text=text,
            on_undo=self._forget_predictions,
            on_redo=self._remember,
            series={"confidence": self.project.confidence, "memory": self.memory_mb},
            on_values=lambda: self.confidence_changed.emit(-1),
        )

    def _forget_predictions(self, frames: list[int]) -> None:
        """An undone run: the engine drops the memory entries made from its predictions."""
        if self._engine is not None:
            self._engine.forget_predictions(frames)

    def _remember(self, masks: dict[int, np.ndarray]) -> None:
        """A redone run: the engine memorises again the frames the run had memorised."""
        if self._engine is not None and masks:
            self._engine.remember(masks)

    def end_run(self) -> None:
        """Push the collected run onto the undo stack (nothing when it changed no frame)."""
        run, self._run = self._run, None
        if run is not None and len(run):
            self.undo_stack.push(run)

    def apply_result(self, result: FrameResult) -> bool:
        """Apply one engine result; returns True when the stored mask changed."""
        if self._closed:
            return False
        index = int(result.index)
        changed = False
        for object_id in result.object_ids:
            if object_id not in self.objects:
                self.objects.ensure(int(object_id))
        source = self.masks.source(index)
        if not result.given and source != "user":
            before = self.masks.get(index)
            if before is None or not np.array_equal(before, result.labels):
                self.masks.set(index, result.labels, "propagated")
                if self._run is not None:
                    self._run.record(index, before, result.labels)
                changed = True
        if self.masks.has_mask(index):
            # the timeline's red ticks and the plot show the estimated mask quality (predicted IoU)
            self._set_value("confidence", index, float(result.quality))
            self.masks.request_save()
            self.confidence_changed.emit(index)
        self._set_value("memory", index, result.memory.total_bytes / (1024.0 * 1024.0))
        if self._run is not None and result.memory_added == EntryKind.WORKING:
            self._run.memorised(index)
        self.set_memory_stats(result.memory)
        return changed

    def _set_value(self, name: str, frame: int, value: float) -> None:
        """Per-frame plot values: through the run (so that its undo reverts them) when one is open."""
        if self._run is not None:
            self._run.set_value(name, frame, value)
        elif name == "confidence":
            self.project.confidence[frame] = value
        else:
            self.memory_mb[frame] = value

    def _on_run_started(self, start: int, end: int, direction: str) -> None:
        self.begin_run(f"Propagate {direction} {start}–{end}")

    def _on_run_finished(self, completed: bool) -> None:
        self.end_run()
