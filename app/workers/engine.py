"""``EngineWorker``: owns the single ``InferenceSession`` and runs it in its own ``QThread``.

Talk to it only through queued signals (see ``EngineClient``), never by calling its slots from
another thread. Propagation is a chain of one-frame steps, each scheduled with
``QTimer.singleShot(0, ...)`` on the worker's event loop, so commands queued meanwhile (pin, evict,
annotate, stop, pause) are handled between two frames. ``stop``/``pause`` also have thread-safe
request methods (:meth:`request_stop`, :meth:`request_pause`) that act before the next frame even
if the queue is busy. Any exception while processing is reported with ``failed(message)``; the run
then ends (``run_finished(False)``) and the session stays usable.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal, Slot

from vos_core.config import SessionConfig
from vos_core.data.frames import FrameSource, open_source
from vos_core.errors import VosError
from vos_core.inference.results import FrameResult
from vos_core.inference.session import InferenceSession

log = logging.getLogger(__name__)

SessionFactory = Callable[[FrameSource, SessionConfig], InferenceSession]


def describe_error(error: BaseException) -> str:
    """A one-line, user-facing message for an exception raised by the engine."""
    if isinstance(error, VosError):  # may quote a multi-line library message (e.g. torch.load)
        return " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, MemoryError):
        return "The engine ran out of memory: lower the processing height or close other programs"
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"Engine error ({type(error).__name__}){': ' + text if text else ''}"


@dataclass
class _Run:
    """A propagation in progress."""

    number: int
    start: int
    end: int
    direction: str
    total: int
    frames: Iterator[FrameResult]
    done: int = 0
    paused: bool = False
    active_s: float = 0.0
    resumed_at: float = field(default_factory=time.perf_counter)


class EngineWorker(QObject):
    """The engine side of the app (lives in the engine thread)."""

    ready = Signal(str)  # architecture name, after a session was (re)built
    frame_ready = Signal(object)  # FrameResult
    progress = Signal(int, int, float, float)  # done, total, frames/s, eta seconds
    memory_changed = Signal(object)  # MemoryStats
    run_started = Signal(int, int, str)  # start, end, direction
    run_finished = Signal(bool)  # True when the run reached its end frame
    failed = Signal(str)
    busy_changed = Signal(bool)
    paused_changed = Signal(bool)

    def __init__(
        self,
        config: SessionConfig | None = None,
        session_factory: SessionFactory | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._config = config or SessionConfig()
        self._factory: SessionFactory = session_factory or InferenceSession
        self._path: Path | None = None
        self._source: FrameSource | None = None
        self._session: InferenceSession | None = None
        self._run: _Run | None = None
        self._step_pending = False
        self._busy = False
        self._paused = threading.Event()
        self._lock = threading.Lock()
        self._requested_runs = 0  # propagate requests issued (any thread)
        self._started_runs = 0  # propagate requests handled (engine thread)
        self._stop_upto = 0  # runs numbered <= this are to stop

    # ------------------------------------------------------------------ thread-safe requests
    def note_run_requested(self) -> None:
        """Count a propagate request about to be queued (so a later stop can target it)."""
        with self._lock:
            self._requested_runs += 1

    def request_stop(self) -> None:
        """Stop the running run and any run requested so far, before its next frame."""
        with self._lock:
            self._stop_upto = max(self._requested_runs, self._started_runs)

    def request_pause(self, paused: bool) -> None:
        if paused:
            self._paused.set()
        else:
            self._paused.clear()

    @property
    def session(self) -> InferenceSession | None:
        """The session (engine thread only; for tests and diagnostics)."""
        return self._session

    @property
    def running(self) -> bool:
        return self._run is not None

    # ------------------------------------------------------------------ session
    @Slot(str, object)
    def open_video(self, path: str, config: object = None) -> None:
        """Open the video in the engine thread and build a session for it."""
        self._end_run(False)
        if isinstance(config, SessionConfig):
            self._config = config
        self._close_session()
        self._path = Path(path)
        self._build(replay={})

    @Slot(object)
    def configure(self, config: object) -> None:
        """Use new settings; an open session is rebuilt and its annotations are replayed."""
        if not isinstance(config, SessionConfig):
            self.failed.emit(f"Invalid engine settings: {config!r}")
            return
        self._end_run(False)
        self._config = config
        if self._path is None:
            return
        replay = dict(self._session.annotations) if self._session is not None else {}
        self._close_session()
        self._build(replay)

    def _build(self, replay: dict[int, np.ndarray]) -> None:
        assert self._path is not None
        self._set_busy(True)
        try:
            self._source = open_source(self._path)
            self._session = self._factory(self._source, self._config)
            for index, labels in sorted(replay.items()):
                self._session.annotate(index, labels)
        except Exception as error:  # noqa: BLE001 - reported to the user
            log.exception("building the session failed")
            self._close_session()
            self.failed.emit(describe_error(error))
        else:
            self.ready.emit(self._config.arch)
            self.memory_changed.emit(self._session.bank.stats())
        finally:
            self._set_busy(self._run is not None)

    def _close_session(self) -> None:
        self._session = None
        if self._source is not None:
            try:
                self._source.close()
            except Exception:  # noqa: BLE001 - closing must not fail
                log.exception("closing the video failed")
            self._source = None

    def _require_session(self) -> InferenceSession | None:
        if self._session is None:
            self.failed.emit("The engine has no video loaded yet")
        return self._session

    # ------------------------------------------------------------------ commands
    @Slot(int, object)
    def annotate(self, index: int, labels: object) -> None:
        """Commit a user mask to memory (a permanent entry)."""
        self._single(lambda session: session.annotate(index, np.asarray(labels)))

    @Slot(int, object)
    def reseed(self, index: int, labels: object) -> None:
        """Clear all memory and restart from this mask."""
        self._end_run(False)
        self._single(lambda session: session.reseed(index, np.asarray(labels)))

    def _single(self, action: Callable[[InferenceSession], FrameResult]) -> None:
        session = self._require_session()
        if session is None:
            return
        self._set_busy(True)
        try:
            result = action(session)
        except Exception as error:  # noqa: BLE001 - reported to the user
            log.exception("engine command failed")
            self.failed.emit(describe_error(error))
        else:
            self.frame_ready.emit(result)
            self.memory_changed.emit(result.memory)
        finally:
            self._set_busy(self._run is not None)

    @Slot(int, bool)
    def pin(self, entry_id: int, pinned: bool = True) -> None:
        self._memory_op(lambda session: session.bank.pin(entry_id, pinned))

    @Slot(int)
    def evict(self, entry_id: int) -> None:
        self._memory_op(lambda session: session.bank.evict(entry_id))

    @Slot(bool)
    def reset_memory(self, keep_permanent: bool = True) -> None:
        self._memory_op(lambda session: session.reset_memory(keep_permanent))

    @Slot(int)
    def remove_object(self, object_id: int) -> None:
        def remove(session: InferenceSession) -> None:
            if object_id in session.objects:
                session.remove_object(object_id)

        self._memory_op(remove)

    @Slot(int)
    def remove_annotation(self, index: int) -> None:
        self._memory_op(lambda session: session.remove_annotation(index))

    @Slot(object)
    def forget_predictions(self, frames: object) -> None:
        """Drop the memory entries made from these frames' predictions (an undone run)."""
        def forget(session: InferenceSession) -> None:
            log.info("undone run: %d memory entries dropped", session.forget_predictions(frames))  # type: ignore[arg-type]

        self._memory_op(forget)

    @Slot()
    def request_memory(self) -> None:
        """Emit ``memory_changed`` with the current bank."""
        self._memory_op(lambda session: None)

    def _memory_op(self, action: Callable[[InferenceSession], None]) -> None:
        session = self._require_session()
        if session is None:
            return
        try:
            action(session)
        except KeyError as error:  # entry gone meanwhile (consolidated, evicted): just refresh
            log.info("memory operation ignored: %s", error)
        except Exception as error:  # noqa: BLE001 - reported to the user
            log.exception("memory operation failed")
            self.failed.emit(describe_error(error))
        self.memory_changed.emit(session.bank.stats())

    # ------------------------------------------------------------------ propagation
    @Slot(int, int, str, object)
    def propagate(self, start: int, end: int, direction: str, seed: object = None) -> None:
        with self._lock:
            self._started_runs += 1
            self._requested_runs = max(self._requested_runs, self._started_runs)
            number = self._started_runs
        self._end_run(False)
        session = self._require_session()
        if session is None:
            return
        if direction not in ("forward", "backward"):
            self.failed.emit(f"Unknown propagation direction {direction!r}")
            return
        seed_labels = None if seed is None else np.asarray(seed)
        frames = session.propagate(
            start, end, direction, seed=seed_labels, should_stop=lambda: self._stopping(number)
        )
        self._run = _Run(number, start, end, direction, abs(end - start), frames)
        self._paused.clear()
        self._set_busy(True)
        self.run_started.emit(start, end, direction)
        self._schedule()

    @Slot()
    def pause(self) -> None:
        self._paused.set()

    @Slot()
    def resume(self) -> None:
        self._paused.clear()
        run = self._run
        if run is not None and run.paused:
            run.paused = False
            run.resumed_at = time.perf_counter()
            self.paused_changed.emit(False)
            self._schedule()

    @Slot()
    def stop(self) -> None:
        """Stop the current run (and none requested after this command)."""
        with self._lock:
            self._stop_upto = max(self._stop_upto, self._started_runs)
        self._end_run(False)

    @Slot()
    def shutdown(self) -> None:
        """End any run, free the session and quit the engine thread's event loop."""
        self.request_stop()
        self._end_run(False)
        self._close_session()
        app = QCoreApplication.instance()
        thread = self.thread()
        if app is not None and thread != app.thread():
            self.moveToThread(app.thread())  # so the GUI side can delete it once joined
            thread.quit()

    def _stopping(self, number: int) -> bool:
        return number <= self._stop_upto

    def _schedule(self) -> None:
        if not self._step_pending:
            self._step_pending = True
            QTimer.singleShot(0, self, self._step)

    def _step(self) -> None:
        self._step_pending = False
        run = self._run
        if run is None:
            return
        if self._stopping(run.number):
            self._end_run(False)
            return
        if self._paused.is_set():
            run.paused = True
            run.active_s += time.perf_counter() - run.resumed_at
            self.paused_changed.emit(True)
            return  # resume() schedules the next step
        if run.done >= run.total:
            self._end_run(True)
            return
        try:
            result = next(run.frames)
        except StopIteration:
            self._end_run(run.done >= run.total)
            return
        except Exception as error:  # noqa: BLE001 - reported, run ended, session kept
            log.exception("propagation failed at frame %d", run.done)
            self.failed.emit(describe_error(error))
            self._end_run(False)
            return
        run.done += 1
        elapsed = run.active_s + (time.perf_counter() - run.resumed_at)
        fps = run.done / elapsed if elapsed > 0 else 0.0
        eta = (run.total - run.done) / fps if fps > 0 else 0.0
        self.frame_ready.emit(result)
        self.progress.emit(run.done, run.total, fps, eta)
        self.memory_changed.emit(result.memory)
        self._schedule()

    def _end_run(self, completed: bool) -> None:
        run, self._run = self._run, None
        if run is None:
            return
        try:
            run.frames.close()  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - a generator closing must not break the worker
            log.exception("closing the propagation failed")
        self._paused.clear()
        if run.paused:
            self.paused_changed.emit(False)
        if self._session is not None:
            self.memory_changed.emit(self._session.bank.stats())
        self._set_busy(False)
        self.run_finished.emit(completed)

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)
