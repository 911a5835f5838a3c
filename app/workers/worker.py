"""The app's one worker primitive: a :class:`Worker` thread runs :class:`Job` objects.

A ``Worker`` is a ``QThread`` with an event loop. :meth:`Worker.submit` queues a job there and
:meth:`Worker.call` queues a plain function (e.g. an engine command). A job's :meth:`Job.work` runs
in the worker thread and returns its result, or is a generator: then the worker takes one item per
turn of its event loop, so calls and jobs queued meanwhile run between two items, and
:meth:`Job.on_item` handles each item there (the default reports ``(done, total)`` tuples as
progress). Between two items a job ends when :meth:`Job.cancelled` and waits while
:meth:`Job.paused` (until :meth:`Job.wake`).

A job reports by signals emitted in the thread that created it (the GUI thread), never in the worker
thread: ``progress(int done, int total)``, then exactly one of ``done(object)`` or ``failed(str)``,
then ``ended()``. :meth:`Job.start` runs a job on a worker of its own whose thread quits when the job
ends (:meth:`Job.wait` joins it); :meth:`Job.run` runs it synchronously (tests, scripts).
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable, Generator

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, QTimer, Signal, Slot

from vos_core import VosError

log = logging.getLogger(__name__)

_QUEUED = Qt.ConnectionType.QueuedConnection


class JobCancelled(Exception):
    """Raised inside :meth:`Job.work` (or :meth:`Job.on_item`) to stop early."""


def describe_failure(name: str, error: BaseException) -> str:
    """A one-line, user-facing message for an exception raised by a job."""
    if isinstance(error, VosError):
        return str(error)
    if isinstance(error, OSError):
        return f"{error.strerror or error}: {error.filename or ''}".rstrip(": ")
    return f"{name} failed ({type(error).__name__}: {error})"


class Job(QObject):
    """One piece of background work (subclass and implement :meth:`work`)."""

    progress = Signal(int, int)  # done, total
    done = Signal(object)
    failed = Signal(str)
    ended = Signal()

    _progressed = Signal(int, int)  # emitted in the worker thread, delivered in the job's thread
    _outcome = Signal(object, object)  # result, error message (None on success)

    CANCELLED_MESSAGE = "Cancelled"

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cancel = threading.Event()
        self._pause = threading.Event()
        self._over = threading.Event()
        self._items: Generator[object, None, object] | None = None
        self._report: Callable[[int, int], None] = self.progress.emit
        self._own_worker: Worker | None = None
        self._loop: _Loop | None = None
        self._submitted = False
        self.parked = False  # waiting in the worker because paused (worker thread)
        self.result: object = None
        self.error: str | None = None
        self.exception: BaseException | None = None
        self.finished_running = False
        self._progressed.connect(self.progress, _QUEUED)
        self._outcome.connect(self._deliver, _QUEUED)

    # ------------------------------------------------------------------ to implement
    def work(self) -> object:
        """The work (worker thread): return the result, or yield items and return the result."""
        raise NotImplementedError

    def on_item(self, item: object) -> None:
        """Handle one item of a generator job (worker thread)."""
        if isinstance(item, tuple) and len(item) == 2:
            self.report_progress(*item)  # type: ignore[arg-type]

    def on_parked(self) -> None:
        """Called (worker thread) when the job starts waiting because :meth:`paused`."""

    def on_end(self, result: object, error: BaseException | None) -> None:
        """Called (worker thread) once the job ended, before its outcome is sent."""

    def on_done(self, result: object) -> None:
        """Hook for subclasses to emit their own typed success signal (after ``done``)."""

    def describe(self, error: BaseException) -> str:
        return describe_failure(type(self).__name__, error)

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def paused(self) -> bool:
        return self._pause.is_set()

    # ------------------------------------------------------------------ control (any thread)
    def start(self) -> None:
        """Run on a worker thread of its own (returns at once); the thread quits when it ends."""
        if self._submitted or self.finished_running:
            raise RuntimeError("this job was already started")
        self._own_worker = Worker(type(self).__name__, quit_when_idle=True)
        self._own_worker.submit(self)

    def run(self) -> None:
        """Do the work synchronously in the calling thread and emit the outcome."""
        if self._submitted or self.finished_running:
            raise RuntimeError("this job was already started")
        self._submitted = True
        if self._begin():
            while self._advance():
                pass
            if not self.finished_running:  # paused: nothing can resume a synchronous run
                self._finish(None, JobCancelled())
        self._deliver(self.result, self.error)

    def cancel(self) -> None:
        """Ask the job to stop before its next item (it ends with ``failed(CANCELLED_MESSAGE)``)."""
        self._cancel.set()
        self.wake()

    def set_paused(self, paused: bool) -> None:
        if paused:
            self._pause.set()
        else:
            self._pause.clear()
            self.wake()

    def wake(self) -> None:
        """Continue a parked job (one that waits because it was paused)."""
        loop = self._loop
        if loop is not None and not self.finished_running:
            loop.woken.emit(self)

    def check_cancelled(self) -> None:
        if self.cancelled():
            raise JobCancelled

    def report_progress(self, done: int, total: int) -> None:
        self._report(int(done), int(total))

    def wait(self, timeout_ms: int = 30000) -> bool:
        """Wait until the job ended (and its own thread, if any, was joined); True when it did or
        was never started. ``result`` and ``error`` are set then; the signals follow when the
        event loop runs."""
        if not self._submitted:
            return True
        if not self._over.wait(max(0, int(timeout_ms)) / 1000):
            return False
        worker = self._own_worker
        if worker is not None:
            if not worker.shutdown(timeout_ms):
                return False
            self._own_worker = None
        return True

    @property
    def running(self) -> bool:
        return self._submitted and not self._over.is_set()

    # ------------------------------------------------------------------ worker side
    def _begin(self) -> bool:
        """Start the work; True when it is a generator to step with :meth:`_advance`."""
        try:
            out = self.work()
        except BaseException as error:  # noqa: BLE001 - reported
            self._finish(None, error)
            return False
        if inspect.isgenerator(out):
            self._items = out
            return True
        self._finish(out, None)
        return False

    def _advance(self) -> bool:
        """Take one item; True when the job wants another turn."""
        if self.finished_running or self._items is None:
            return False
        if self.cancelled():
            self._finish(None, JobCancelled())
            return False
        if self.paused():
            if not self.parked:
                self.parked = True
                self.on_parked()
            return False
        self.parked = False
        try:
            item = next(self._items)
            self.on_item(item)
        except StopIteration as stop:
            self._finish(stop.value, None)
            return False
        except BaseException as error:  # noqa: BLE001 - reported
            self._finish(None, error)
            return False
        return True

    def end_now(self) -> None:
        """End the job at once as cancelled (worker thread only, e.g. from a queued command)."""
        if not self.finished_running and self._submitted:
            self._finish(None, JobCancelled())

    def _finish(self, result: object, error: BaseException | None) -> None:
        items, self._items = self._items, None
        if items is not None:
            try:
                items.close()
            except Exception:  # noqa: BLE001 - closing must not break the worker
                log.exception("closing %s failed", type(self).__name__)
        message: str | None = None
        if isinstance(error, JobCancelled):
            message = self.CANCELLED_MESSAGE
        elif error is not None:
            if not isinstance(error, (VosError, OSError)):
                log.error("%s failed", type(self).__name__, exc_info=error)
            message = self.describe(error)
        self.result, self.error, self.exception = result, message, error
        self.finished_running = True
        try:
            self.on_end(result, error)
        except Exception:  # noqa: BLE001 - a hook must not break the worker
            log.exception("%s.on_end failed", type(self).__name__)
        self._over.set()
        if self._loop is not None:
            self._outcome.emit(result, message)

    @Slot(object, object)
    def _deliver(self, result: object, error: object) -> None:
        if error is None:
            self.done.emit(result)
            self.on_done(result)
        else:
            self.failed.emit(str(error))
        self.ended.emit()


class _Loop(QObject):
    """Lives in the worker thread: starts jobs, steps generator jobs, runs queued calls."""

    submitted = Signal(object)  # Job
    called = Signal(object)  # callable
    woken = Signal(object)  # Job
    quitting = Signal()

    def __init__(self, quit_when_idle: bool) -> None:
        super().__init__()
        self._quit_when_idle = quit_when_idle
        self._active: set[Job] = set()
        self._over = False
        self.submitted.connect(self._begin, _QUEUED)
        self.called.connect(self._call, _QUEUED)
        self.woken.connect(self._wake, _QUEUED)
        self.quitting.connect(self._quit, _QUEUED)

    @Slot(object)
    def _begin(self, job: Job) -> None:
        job._report = job._progressed.emit
        if job._begin():
            self._active.add(job)
            self._schedule(job)
        self._check_idle()

    def _schedule(self, job: Job) -> None:
        QTimer.singleShot(0, self, lambda: self._step(job))

    def _step(self, job: Job) -> None:
        if job._advance():
            self._schedule(job)
        elif job.finished_running:
            self._active.discard(job)
            self._check_idle()

    @Slot(object)
    def _wake(self, job: Job) -> None:
        if job.finished_running and job in self._active:
            self._active.discard(job)
            self._check_idle()
        elif job.parked or job.cancelled():
            self._step(job)

    @Slot(object)
    def _call(self, function: Callable[[], object]) -> None:
        try:
            function()
        except Exception:  # noqa: BLE001 - a queued call must not break the worker
            log.exception("a call in the worker thread failed")

    def _check_idle(self) -> None:
        if self._quit_when_idle and not self._active:
            self._quit()

    @Slot()
    def _quit(self) -> None:
        if self._over:
            return
        self._over = True
        for job in list(self._active):
            job.end_now()
        self._active.clear()
        app = QCoreApplication.instance()
        thread = self.thread()
        if app is not None and thread != app.thread():
            self.moveToThread(app.thread())  # so the owner can drop it once joined
        thread.quit()


class Worker(QObject):
    """One background thread with an event loop; jobs and calls run there in order."""

    def __init__(self, name: str, quit_when_idle: bool = False, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = QThread()
        self._thread.setObjectName(name)
        self._loop: _Loop | None = _Loop(quit_when_idle)
        self._loop.moveToThread(self._thread)
        self._closing = False
        self._thread.start()

    @property
    def thread_handle(self) -> QThread | None:
        return self._thread

    @property
    def alive(self) -> bool:
        return self._thread is not None and not self._closing

    def adopt(self, obj: QObject) -> None:
        """Move ``obj`` into the worker thread (its queued slots then run there)."""
        assert self._thread is not None
        obj.moveToThread(self._thread)

    def submit(self, job: Job) -> Job:
        """Queue ``job`` (returns at once)."""
        if job._submitted:
            raise RuntimeError("this job was already started")
        if self._loop is None or self._closing:
            raise RuntimeError("the worker is shut down")
        job._submitted = True
        job._loop = self._loop
        self._loop.submitted.emit(job)
        return job

    def call(self, function: Callable[[], object]) -> bool:
        """Run ``function()`` in the worker thread (queued); False when the worker is shut down."""
        if self._loop is None or self._closing:
            return False
        self._loop.called.emit(function)
        return True

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """End the jobs still running, quit the thread and join it. True when the thread ended
        within ``timeout_ms`` (if not, call again later)."""
        thread = self._thread
        if thread is None:
            return True
        if not self._closing and self._loop is not None:
            self._closing = True
            self._loop.quitting.emit()
        if not thread.wait(max(0, int(timeout_ms))):
            return False
        self._thread = None
        self._loop = None
        return True
