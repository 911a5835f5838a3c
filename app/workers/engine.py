"""``EngineWorker``: owns the single ``InferenceSession``; all its methods run in the engine thread.

The engine thread is a :class:`~app.workers.worker.Worker`: ``EngineClient`` queues each command
there with ``Worker.call``, so commands run one after another in that thread. A propagation is a
generator :class:`~app.workers.worker.Job` on the same worker, stepped one frame per turn of the
thread's event loop, so commands queued meanwhile (pin, evict, annotate, stop, pause) are handled
between two frames. ``stop``/``pause`` also have thread-safe request methods (:meth:`request_stop`,
:meth:`request_pause`) that act before the next frame even if the queue is busy. Results are
emitted on the :class:`~app.workers.engine_signals.EngineSignals` object given to the worker (it
lives in the GUI thread, so connected slots and functions run there). Any exception while
processing is reported with ``failed(message)``; the run then ends (``run_finished(False)``) and the
session stays usable. The run itself is a :class:`~app.workers.engine_run.PropagationRun`; its
learning step (the adaptation refit) is :class:`~app.workers.engine_learning.Learning`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from app.workers.engine_learning import Learning
from app.workers.engine_run import PropagationRun
from app.workers.engine_signals import EngineSignals, describe_error
from app.workers.worker import Worker
from vos_core import (
    CorrectionRun,
    FrameResult,
    FrameSource,
    InferenceSession,
    SessionConfig,
    ThreadBudget,
    device_label,
    open_source,
)

__all__ = ["EngineSignals", "EngineWorker", "SessionFactory", "describe_error"]

log = logging.getLogger(__name__)

SessionFactory = Callable[[FrameSource, SessionConfig], InferenceSession]


class EngineWorker:
    """The engine side of the app: call its methods only in the engine thread (``Worker.call``),
    except the thread-safe ``note_run_requested``, ``request_stop`` and ``request_pause``."""

    def __init__(
        self,
        signals: EngineSignals,
        worker: Worker,
        config: SessionConfig | None = None,
        session_factory: SessionFactory | None = None,
    ) -> None:
        self.signals = signals
        self._worker = worker
        self._config = config or SessionConfig()
        self._factory: SessionFactory = session_factory or InferenceSession
        self._path: Path | None = None
        self._source: FrameSource | None = None
        self._session: InferenceSession | None = None
        self._run: PropagationRun | None = None
        self._busy = False
        self._paused = threading.Event()
        self._lock = threading.Lock()
        self._requested_runs = 0  # propagate requests issued (any thread)
        self._started_runs = 0  # propagate requests handled (engine thread)
        self._stop_upto = 0  # runs numbered <= this are to stop
        self._learning = Learning(signals)
        self._keep_in: Path | None = None  # where the session keeps its adaptation (the project)

    # ------------------------------------------------------------------ thread-safe requests
    def note_run_requested(self) -> None:
        """Count a propagate request about to be queued (so a later stop can target it)."""
        with self._lock:
            self._requested_runs += 1

    def request_stop(self) -> None:
        """Stop the running run and any run requested so far, before its next frame."""
        with self._lock:
            self._stop_upto = max(self._requested_runs, self._started_runs)
        run = self._run
        if run is not None:
            run.wake()

    def request_pause(self, paused: bool) -> None:
        if paused:
            self._paused.set()
        else:
            self._paused.clear()

    @property
    def learning(self) -> bool:
        """True while a refit runs (thread-safe): the engine thread handles nothing else meanwhile."""
        return self._learning.active

    def stopping(self, number: int) -> bool:
        return number <= self._stop_upto

    def pause_requested(self) -> bool:
        return self._paused.is_set()

    @property
    def session(self) -> InferenceSession | None:
        """The session (engine thread only; for tests and diagnostics)."""
        return self._session

    # ------------------------------------------------------------------ session
    def open_video(self, path: str, config: object = None, keep_in: str | None = None) -> None:
        """Open the video and build a session for it; its adaptation is kept in the folder
        ``keep_in`` (the project's; None: nowhere)."""
        self._end_run()
        if isinstance(config, SessionConfig):
            self._config = config
        self._close_session()
        self._path = Path(path)
        self._keep_in = Path(keep_in) if keep_in else None
        self._build(replay={})

    def configure(self, config: object) -> None:
        """Use new settings: applied to the open session in place (its memory is kept) when the
        session can take them, else the session is rebuilt and its annotations are replayed."""
        if not isinstance(config, SessionConfig):
            self.signals.failed.emit(f"Invalid engine settings: {config!r}")
            return
        self._end_run()
        self._config = config
        session = self._session
        if session is not None:
            try:
                updated = session.update_config(config)
            except Exception as error:  # noqa: BLE001 - reported; a rebuild follows
                log.exception("updating the session failed")
                self.signals.failed.emit(describe_error(error))
                updated = False
            if updated:
                ThreadBudget.of(config.threads).apply()
                self.signals.device_ready.emit(device_label(session.device))
                self.signals.memory_changed.emit(session.memory_stats())
                self.signals.ready.emit(config.arch)
                return
        if self._path is None:
            return
        replay = dict(session.annotations) if session is not None else {}
        pins = session.pinned_frames() if session is not None else []
        self._close_session()
        self._build(replay, pins)

    def _build(self, replay: dict[int, np.ndarray], pins: list[int] | None = None) -> None:
        """A new session told the references ``replay`` and the pins of reference frames
        ``pins`` (lazily: nothing is encoded before the next run)."""
        assert self._path is not None
        self._set_busy(True)
        try:
            ThreadBudget.of(self._config.threads).apply()  # torch's threads, in the engine thread
            self._source = open_source(self._path)
            self._session = self._factory(self._source, self._config)
            self._session.keep_adaptation_in(self._keep_in)
            for index, labels in sorted(replay.items()):
                self._session.set_reference(index, labels)
            for index in pins or []:
                self._session.pin_frame(index)
        except Exception as error:  # noqa: BLE001 - reported to the user
            log.exception("building the session failed")
            self._close_session()
            self.signals.failed.emit(describe_error(error))
        else:
            self.signals.device_ready.emit(device_label(self._session.device))
            # memory before ready: a document attached on ready never gets this session's
            # stats from before it told the session its references and pins
            self.signals.memory_changed.emit(self._session.memory_stats())
            self.signals.ready.emit(self._config.arch)
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
            self.signals.failed.emit("The engine has no video loaded yet")
        return self._session

    # ------------------------------------------------------------------ commands
    def annotate(self, index: int, labels: object) -> None:
        """Make a mask a reference and encode it now (a permanent entry; ``frame_ready`` follows)."""
        self._single(lambda session: session.annotate(index, np.asarray(labels)))

    def set_reference(self, index: int, labels: object) -> None:
        """The mask of frame ``index`` is a reference (encoded when the next run starts)."""
        self._memory_op(lambda session: session.set_reference(index, np.asarray(labels)))

    def remove_reference(self, index: int) -> None:
        """Frame ``index`` is no reference any more (its permanent entry goes)."""
        self._memory_op(lambda session: session.remove_reference(index))

    def restore(self, references: dict[int, np.ndarray], pins: dict[int, np.ndarray | None]) -> None:
        """A reopened project: its references and pinned frames (frame -> stored mask), told in
        one go and encoded lazily (one ``memory_changed`` at the end)."""

        def restore(session: InferenceSession) -> None:
            for index, labels in sorted(references.items()):
                session.set_reference(index, np.asarray(labels))
            for index, labels in sorted(pins.items()):
                session.pin_frame(index, None if labels is None else np.asarray(labels))

        self._memory_op(restore)

    def remember(self, masks: dict[int, np.ndarray]) -> None:
        """Memorise these predicted masks as working entries (a redone run)."""

        def remember(session: InferenceSession) -> None:
            log.info("redone run: %d memory entries made", session.remember(masks))

        self._memory_op(remember)

    def reseed(self, index: int, labels: object) -> None:
        """Clear all memory and restart from this mask."""
        self._end_run()
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
            self.signals.failed.emit(describe_error(error))
        else:
            self.signals.frame_ready.emit(result)
            self.signals.memory_changed.emit(result.memory)
        finally:
            self._set_busy(self._run is not None)

    def pin(self, entry_id: int, pinned: bool = True) -> None:
        self._memory_op(lambda session: session.pin(entry_id, pinned))

    def unpin_frame(self, index: int) -> None:
        """Frame ``index``'s memory is pinned no more (its entries stay)."""
        self._memory_op(lambda session: session.unpin_frame(index))

    def evict(self, entry_id: int) -> None:
        self._memory_op(lambda session: session.evict(entry_id))

    def reset_memory(self, keep_permanent: bool = True) -> None:
        self._memory_op(lambda session: session.reset_memory(keep_permanent))

    def remove_object(self, object_id: int) -> None:
        def remove(session: InferenceSession) -> None:
            if object_id in session.objects:
                session.remove_object(object_id)

        self._memory_op(remove)

    def forget_predictions(self, frames: list[int]) -> None:
        """Drop the memory entries made from these frames' predictions (an undone run)."""

        def forget(session: InferenceSession) -> None:
            log.info("undone run: %d memory entries dropped", session.forget_predictions(frames))
            session.forget_shown(frames)  # the document shows its masks from before the run again

        self._memory_op(forget)

    def request_memory(self) -> None:
        """Emit ``memory_changed`` with the current memory."""
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
            self.signals.failed.emit(describe_error(error))
        self.signals.memory_changed.emit(session.memory_stats())

    # ------------------------------------------------------------------ propagation
    def propagate(self, start: int, end: int, direction: str, seed: object = None) -> None:
        with self._lock:
            self._started_runs += 1
            self._requested_runs = max(self._requested_runs, self._started_runs)
            number = self._started_runs
        self._end_run()
        session = self._require_session()
        if session is None:
            return
        if direction not in ("forward", "backward", "around"):
            self.signals.failed.emit(f"Unknown propagation direction {direction!r}")
            return
        seed_labels = None if seed is None else np.asarray(seed)
        frames: Iterator[FrameResult]
        total = None
        if direction == "around":  # a correction at ``start``: both sides up to the references
            if start not in session.annotations:
                self.signals.failed.emit(f"Frame {start} is no reference: correct it first")
                return
            frames = correction = CorrectionRun(session, start, should_stop=lambda: self.stopping(number))
            start, end, total = correction.first, correction.last, correction.total
        else:
            frames = session.propagate(
                start, end, direction, seed=seed_labels, should_stop=lambda: self.stopping(number)
            )
        self._paused.clear()
        self._run = PropagationRun(self, number, start, end, frames, total)
        self._set_busy(True)
        self.signals.run_started.emit(start, end, direction)
        self._worker.submit(self._run)

    def pause(self) -> None:
        self._paused.set()

    def resume(self) -> None:
        self._paused.clear()
        run = self._run
        if run is not None and run.parked:
            run.resumed()
            run.wake()

    def stop(self) -> None:
        """Stop the current run (and none requested after this command)."""
        with self._lock:
            self._stop_upto = max(self._stop_upto, self._started_runs)
        self._end_run()

    def shutdown(self) -> None:
        """End any run and free the session (the client quits the thread next)."""
        self.request_stop()
        self._end_run()
        self._close_session()

    def adapt_for_run(self) -> bool:
        """(From the run's first step, before its first frame.) Refit the session's adaptation when
        its references changed (:class:`~app.workers.engine_learning.Learning`); a stop or quit ends
        it within a step (``JobCancelled``, the run ends). -> True when it refitted."""
        session, run = self._session, self._run
        if session is None:
            return False
        number = run.number if run is not None else self._started_runs
        return self._learning.refit(session, lambda: self.stopping(number))

    def report_frame(self, result: FrameResult, done: int, total: int, fps: float, eta: float) -> None:
        self.signals.frame_ready.emit(result)
        self.signals.progress.emit(done, total, fps, eta)
        self.signals.memory_changed.emit(result.memory)

    def run_ended(self, run: PropagationRun, completed: bool, error: BaseException | None) -> None:
        """(From the run's ``on_end``.) Report the end of a run."""
        if self._run is run:
            self._run = None
        if error is not None and run.error != run.CANCELLED_MESSAGE:
            self.signals.failed.emit(run.error or describe_error(error))
        self._paused.clear()
        if run.parked:
            self.signals.paused_changed.emit(False)
        if self._session is not None:
            self.signals.memory_changed.emit(self._session.memory_stats())
        self._set_busy(False)
        self.signals.run_finished.emit(completed)

    def _end_run(self) -> None:
        run = self._run
        if run is not None:
            run.end_now()

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.signals.busy_changed.emit(busy)
