"""``EngineClient``: the GUI-side handle of the engine thread.

It creates a ``QThread`` with an :class:`EngineWorker` in it. Its methods are plain, non-blocking
Python calls that queue a command to the worker; the worker's signals are re-emitted here, on the
GUI thread. ``stop()``/``pause()``/``resume()`` also flip thread-safe flags, so they act before the
next frame even while commands are queued. Call :meth:`shutdown` before quitting (e.g. from
``QApplication.aboutToQuit``): it ends the run and joins the thread.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, SignalInstance

from app.workers.engine import EngineWorker, SessionFactory
from vos_core.config import SessionConfig
from vos_core.memory.bank import MemoryStats

_QUEUED = Qt.ConnectionType.QueuedConnection


def _array_copy(labels: object) -> np.ndarray | None:
    return None if labels is None else np.array(labels, dtype=np.uint8, copy=True)


class EngineClient(QObject):
    """Non-blocking access to the engine (one per application window)."""

    ready = Signal(str)
    frame_ready = Signal(object)  # FrameResult
    progress = Signal(int, int, float, float)  # done, total, frames/s, eta seconds
    memory_changed = Signal(object)  # MemoryStats
    run_started = Signal(int, int, str)
    run_finished = Signal(bool)
    failed = Signal(str)
    busy_changed = Signal(bool)
    paused_changed = Signal(bool)

    _open = Signal(str, object)
    _configure = Signal(object)
    _annotate = Signal(int, object)
    _propagate = Signal(int, int, str, object)
    _pause = Signal()
    _resume = Signal()
    _stop = Signal()
    _pin = Signal(int, bool)
    _evict = Signal(int)
    _reset_memory = Signal(bool)
    _reseed = Signal(int, object)
    _remove_object = Signal(int)
    _remove_annotation = Signal(int)
    _request_memory = Signal()
    _forget_predictions = Signal(object)
    _shutdown = Signal()

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
        self._thread: QThread | None = QThread()
        self._thread.setObjectName("vos-engine")
        self._worker: EngineWorker | None = EngineWorker(config, session_factory)
        self._worker.moveToThread(self._thread)
        self._wire(self._worker)
        self._shutting_down = False
        self._thread.start()
        app = QCoreApplication.instance()
        if app is not None:  # never leave the thread running at exit, even if the owner forgets
            app.aboutToQuit.connect(self.shutdown)

    def _wire(self, worker: EngineWorker) -> None:
        for request, slot in (
            (self._open, worker.open_video),
            (self._configure, worker.configure),
            (self._annotate, worker.annotate),
            (self._propagate, worker.propagate),
            (self._pause, worker.pause),
            (self._resume, worker.resume),
            (self._stop, worker.stop),
            (self._pin, worker.pin),
            (self._evict, worker.evict),
            (self._reset_memory, worker.reset_memory),
            (self._reseed, worker.reseed),
            (self._remove_object, worker.remove_object),
            (self._remove_annotation, worker.remove_annotation),
            (self._request_memory, worker.request_memory),
            (self._forget_predictions, worker.forget_predictions),
            (self._shutdown, worker.shutdown),
        ):
            request.connect(slot, _QUEUED)
        worker.ready.connect(self._on_ready, _QUEUED)
        worker.frame_ready.connect(self.frame_ready, _QUEUED)
        worker.progress.connect(self.progress, _QUEUED)
        worker.memory_changed.connect(self._on_memory, _QUEUED)
        worker.run_started.connect(self._on_run_started, _QUEUED)
        worker.run_finished.connect(self._on_run_finished, _QUEUED)
        worker.failed.connect(self._on_failed, _QUEUED)
        worker.busy_changed.connect(self._on_busy, _QUEUED)
        worker.paused_changed.connect(self._on_paused, _QUEUED)

    # ------------------------------------------------------------------ commands (non-blocking)
    def _send(self, request: SignalInstance, *args: object) -> None:
        if self._shutting_down or self._worker is None:
            return  # after shutdown the engine is gone: commands are ignored
        request.emit(*args)

    @property
    def alive(self) -> bool:
        """True until :meth:`shutdown` was called."""
        return self._thread is not None and not self._shutting_down

    def open_video(self, path: str, config: SessionConfig | None = None) -> None:
        """Open ``path`` in the engine and build its session (``ready`` or ``failed`` follows)."""
        self._send(self._open, str(path), config)

    def configure(self, config: SessionConfig) -> None:
        """Change settings: the session is rebuilt (annotations kept), ``ready`` follows."""
        self._send(self._configure, config)

    def annotate(self, frame: int, labels: np.ndarray) -> None:
        """Commit a user mask to memory (a permanent entry)."""
        self._send(self._annotate, int(frame), _array_copy(labels))

    def propagate(self, start: int, end: int, direction: str = "forward", seed: object = None) -> None:
        """Propagate from ``start`` (seeded by its annotation, else ``seed``) to ``end``."""
        if self._worker is not None and not self._shutting_down:
            self._worker.note_run_requested()
        self._send(self._propagate, int(start), int(end), str(direction), _array_copy(seed))

    def pause(self) -> None:
        if self._worker is not None:
            self._worker.request_pause(True)
        self._send(self._pause)

    def resume(self) -> None:
        if self._worker is not None:
            self._worker.request_pause(False)
        self._send(self._resume)

    def stop(self) -> None:
        """Stop the run in progress (and any requested before) before its next frame."""
        if self._worker is not None:
            self._worker.request_stop()
        self._send(self._stop)

    def pin(self, entry_id: int, pinned: bool = True) -> None:
        self._send(self._pin, int(entry_id), bool(pinned))

    def evict(self, entry_id: int) -> None:
        self._send(self._evict, int(entry_id))

    def reset_memory(self, keep_permanent: bool = True) -> None:
        self._send(self._reset_memory, bool(keep_permanent))

    def reseed(self, frame: int, labels: np.ndarray) -> None:
        """Clear all memory and restart from this frame's mask."""
        self._send(self._reseed, int(frame), _array_copy(labels))

    def remove_object(self, object_id: int) -> None:
        self._send(self._remove_object, int(object_id))

    def remove_annotation(self, frame: int) -> None:
        """Forget a committed mask (its permanent memory entry goes too)."""
        self._send(self._remove_annotation, int(frame))

    def request_memory(self) -> None:
        """Ask for a fresh ``memory_changed``."""
        self._send(self._request_memory)

    def forget_predictions(self, frames: list[int]) -> None:
        """Drop what memory holds of these frames' predictions (``memory_changed`` follows)."""
        self._send(self._forget_predictions, [int(f) for f in frames])

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Stop the run, free the session and join the engine thread. True when the thread ended
        within ``timeout_ms`` (if not, call again later: the thread is never left dangling)."""
        thread = self._thread
        if thread is None:
            return True
        if not self._shutting_down and self._worker is not None:
            self._shutting_down = True
            self._worker.request_stop()
            self._shutdown.emit()
        if not thread.wait(max(0, int(timeout_ms))):
            return False
        self._thread = None
        self._worker = None  # back in this thread (moved by the worker), deleted here
        self.running = self.busy = self.paused = False
        return True

    # ------------------------------------------------------------------ state tracking
    def _on_ready(self, arch: str) -> None:
        self.arch = arch
        self.ready.emit(arch)

    def _on_memory(self, stats: object) -> None:
        self.memory = stats  # type: ignore[assignment]
        self.memory_changed.emit(stats)

    def _on_run_started(self, start: int, end: int, direction: str) -> None:
        self.running = True
        self.run_started.emit(start, end, direction)

    def _on_run_finished(self, completed: bool) -> None:
        self.running = False
        self.paused = False
        self.run_finished.emit(completed)

    def _on_failed(self, message: str) -> None:
        self.last_error = message
        self.failed.emit(message)

    def _on_busy(self, busy: bool) -> None:
        self.busy = busy
        self.busy_changed.emit(busy)

    def _on_paused(self, paused: bool) -> None:
        self.paused = paused
        self.paused_changed.emit(paused)
