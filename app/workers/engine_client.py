"""``EngineClient``: the GUI-side handle of the engine thread.

It starts a :class:`~app.workers.worker.Worker` (the engine thread) with an :class:`EngineWorker`
in it. Its methods are plain, non-blocking Python calls that queue a command to the engine thread.
Its signals are the engine's own (it *is* the :class:`EngineSignals` object the engine emits on),
delivered on the GUI thread. ``stop()``/``pause()``/``resume()`` also flip thread-safe flags, so
they act before the next frame (or refit step) even while commands are queued. While the engine
learns from the masks (a refit blocks its thread), a propagation or reseed is refused with
``refused(message)`` instead of being queued and started long after the key was pressed. Call
:meth:`shutdown` before quitting (e.g. from ``QApplication.aboutToQuit``): it ends the run and joins
the thread.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject

from app.workers.engine import EngineWorker, SessionFactory
from app.workers.engine_signals import EngineSignals
from app.workers.worker import Worker
from vos_core import MemoryStats, SessionConfig


def _array_copy(labels: object) -> np.ndarray | None:
    return None if labels is None else np.array(labels, dtype=np.uint8, copy=True)


class EngineClient(EngineSignals):
    """Non-blocking access to the engine (one per application window)."""

    def __init__(
        self,
        config: SessionConfig | None = None,
        session_factory: SessionFactory | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.arch: str | None = None
        self.busy = False
        self.running = False
        self.paused = False
        self.last_error: str | None = None
        self.memory: MemoryStats | None = None
        # state first: these run before any slot connected later
        self.ready.connect(self._on_ready)
        self.memory_changed.connect(self._on_memory)
        self.run_started.connect(self._on_run_started)
        self.run_finished.connect(self._on_run_finished)
        self.failed.connect(self._on_failed)
        self.busy_changed.connect(self._on_busy)
        self.paused_changed.connect(self._on_paused)
        self._thread: Worker | None = Worker("vos-engine")
        self._engine: EngineWorker | None = EngineWorker(self, self._thread, config, session_factory)
        self._shutting_down = False
        app = QCoreApplication.instance()
        if app is not None:  # never leave the thread running at exit, even if the owner forgets
            app.aboutToQuit.connect(self.shutdown)

    # ------------------------------------------------------------------ commands (non-blocking)
    def _send(self, command: Callable[..., None], *args: object) -> None:
        if self._shutting_down or self._thread is None:
            return  # after shutdown the engine is gone: commands are ignored
        self._thread.call(functools.partial(command, *args))

    @property
    def alive(self) -> bool:
        """True until :meth:`shutdown` was called."""
        return self._thread is not None and not self._shutting_down

    def open_video(
        self, path: str, config: SessionConfig | None = None, keep_in: str | Path | None = None
    ) -> None:
        """Open ``path`` in the engine and build its session (``ready`` or ``failed`` follows); what
        the session learns from the masks is kept in the folder ``keep_in`` (the project's), and a
        fit kept there from the same masks is used instead of refitting."""
        if self._engine is not None:
            self._send(self._engine.open_video, str(path), config, None if keep_in is None else str(keep_in))

    def _refuse_while_learning(self, what: str) -> bool:
        """True (and ``refused`` says why) when the engine is learning from the masks: its thread
        handles nothing until the refit ends, so ``what`` would run much later, unasked."""
        engine = self._engine
        if engine is None or not engine.learning:
            return False
        self.refused.emit(f"{what} not started: the engine is learning from your masks (Stop ends it)")
        return True

    def configure(self, config: SessionConfig) -> None:
        """Change settings: applied to the running session in place when it can take them (its
        memory is kept), else the session is rebuilt (annotations kept); ``ready`` follows."""
        if self._engine is not None:
            self._send(self._engine.configure, config)

    def annotate(self, frame: int, labels: np.ndarray) -> None:
        """Make a mask a reference and encode it now (``frame_ready`` follows)."""
        if self._engine is not None:
            self._send(self._engine.annotate, int(frame), _array_copy(labels))

    def set_reference(self, frame: int, labels: np.ndarray) -> None:
        """The mask of ``frame`` is a reference: a permanent entry replacing whatever memory held
        for that frame (encoded when the next run starts)."""
        if self._engine is not None:
            self._send(self._engine.set_reference, int(frame), _array_copy(labels))

    def remove_reference(self, frame: int) -> None:
        """``frame`` is no reference any more (its permanent memory entry goes)."""
        if self._engine is not None:
            self._send(self._engine.remove_reference, int(frame))

    def restore(
        self, references: dict[int, np.ndarray], pins: dict[int, np.ndarray | None] | None = None
    ) -> None:
        """Tell a reopened project's references and pinned frames (frame -> stored mask)."""
        if self._engine is not None:
            refs = {int(f): _array_copy(m) for f, m in references.items()}
            pinned = {int(f): _array_copy(m) for f, m in (pins or {}).items()}
            self._send(self._engine.restore, refs, pinned)

    def remember(self, masks: dict[int, np.ndarray]) -> None:
        """Memorise these predicted masks as working entries (a redone run)."""
        if self._engine is not None:
            self._send(self._engine.remember, {int(f): _array_copy(m) for f, m in masks.items()})

    def propagate(self, start: int, end: int, direction: str = "forward", seed: object = None) -> None:
        """Propagate from ``start`` (seeded by its annotation, else ``seed``) to ``end``."""
        engine = self._engine
        if engine is not None and not self._shutting_down and not self._refuse_while_learning("Propagation"):
            engine.note_run_requested()
            self._send(engine.propagate, int(start), int(end), str(direction), _array_copy(seed))

    def update_around(self, frame: int) -> None:
        """Re-propagate around the reference ``frame`` (a correction): both sides up to the
        neighbouring references, fused with the masks there, stopping early where nothing changes
        (:class:`vos_core.CorrectionRun`); ``run_summary`` says what ran before ``run_finished``."""
        self.propagate(frame, frame, "around")

    def pause(self) -> None:
        if self._engine is not None:
            self._engine.request_pause(True)
            self._send(self._engine.pause)

    def resume(self) -> None:
        if self._engine is not None:
            self._engine.request_pause(False)
            self._send(self._engine.resume)

    def stop(self) -> None:
        """Stop the run in progress (and any requested before) before its next frame."""
        if self._engine is not None:
            self._engine.request_stop()
            self._send(self._engine.stop)

    def pin(self, entry_id: int, pinned: bool = True) -> None:
        if self._engine is not None:
            self._send(self._engine.pin, int(entry_id), bool(pinned))

    def unpin_frame(self, frame: int) -> None:
        """Unpin frame ``frame``'s memory (pin it with ``restore({}, {frame: mask})``)."""
        if self._engine is not None:
            self._send(self._engine.unpin_frame, int(frame))

    def evict(self, entry_id: int) -> None:
        if self._engine is not None:
            self._send(self._engine.evict, int(entry_id))

    def reset_memory(self, keep_permanent: bool = True) -> None:
        if self._engine is not None:
            self._send(self._engine.reset_memory, bool(keep_permanent))

    def reseed(self, frame: int, labels: np.ndarray) -> None:
        """Clear all memory and restart from this frame's mask."""
        if self._engine is not None and not self._refuse_while_learning("Reseed"):
            self._send(self._engine.reseed, int(frame), _array_copy(labels))

    def remove_object(self, object_id: int) -> None:
        if self._engine is not None:
            self._send(self._engine.remove_object, int(object_id))

    def request_memory(self) -> None:
        """Ask for a fresh ``memory_changed``."""
        if self._engine is not None:
            self._send(self._engine.request_memory)

    def forget_predictions(self, frames: list[int]) -> None:
        """Drop what memory holds of these frames' predictions (``memory_changed`` follows)."""
        if self._engine is not None:
            self._send(self._engine.forget_predictions, [int(f) for f in frames])

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Stop the run, free the session and join the engine thread. True when the thread ended
        within ``timeout_ms`` (if not, call again later: the thread is never left dangling)."""
        thread = self._thread
        if thread is None:
            return True
        if not self._shutting_down and self._engine is not None:
            self._engine.request_stop()
            thread.call(self._engine.shutdown)
            self._shutting_down = True
        if not thread.shutdown(timeout_ms):
            return False
        self._thread = None
        self._engine = None
        self.running = self.busy = self.paused = False
        return True

    # ------------------------------------------------------------------ state tracking
    def _on_ready(self, arch: str) -> None:
        self.arch = arch

    def _on_memory(self, stats: object) -> None:
        self.memory = stats  # type: ignore[assignment]

    def _on_run_started(self, start: int, end: int, direction: str) -> None:
        self.running = True

    def _on_run_finished(self, completed: bool) -> None:
        self.running = False
        self.paused = False

    def _on_failed(self, message: str) -> None:
        self.last_error = message

    def _on_busy(self, busy: bool) -> None:
        self.busy = busy

    def _on_paused(self, paused: bool) -> None:
        self.paused = paused
