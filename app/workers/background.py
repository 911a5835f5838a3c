"""``BackgroundJob``: a cancellable one-shot job run in its own ``QThread``.

Subclasses implement :meth:`work` (called in the job's thread; poll :meth:`check_cancelled` and
report with :meth:`report_progress`) and return the value passed to ``done``. ``start()`` runs it
in a new thread; ``run()`` runs it synchronously (tests, scripts). The job object itself stays in
the thread that created it (the GUI thread), so all its signals are emitted there: a plain function
connected to them never runs in the worker thread. Exactly one of ``done(object)`` or
``failed(str)`` is emitted at the end, then ``ended()``; the thread quits by itself and
:meth:`wait` joins it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, Slot

from vos_core.errors import VosError

log = logging.getLogger(__name__)

_QUEUED = Qt.ConnectionType.QueuedConnection


class JobCancelled(Exception):
    """Raised inside :meth:`BackgroundJob.work` to stop early."""


class _Runner(QObject):
    """Lives in the job's thread: runs the work and sends the outcome back."""

    progress = Signal(int, int)
    outcome = Signal(object, object)  # result, error message (None on success)

    def __init__(self, execute: Callable[[Callable[[int, int], None]], tuple[object, str | None]]):
        super().__init__()
        self._execute = execute

    @Slot()
    def run(self) -> None:
        result, error = self._execute(self.progress.emit)
        self.outcome.emit(result, error)
        app = QCoreApplication.instance()
        thread = self.thread()
        if app is not None and thread != app.thread():
            self.moveToThread(app.thread())  # so the job can drop it after wait()
            thread.quit()


class BackgroundJob(QObject):
    progress = Signal(int, int)  # done, total
    done = Signal(object)
    failed = Signal(str)
    ended = Signal()

    CANCELLED_MESSAGE = "Cancelled"

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cancel = threading.Event()
        self._thread: QThread | None = None
        self._runner: _Runner | None = None
        self._report: Callable[[int, int], None] = self.progress.emit
        self.result: object = None
        self.error: str | None = None
        self.finished_running = False

    # ------------------------------------------------------------------ to implement
    def work(self) -> object:
        raise NotImplementedError

    def on_done(self, result: object) -> None:
        """Hook for subclasses to emit their own typed success signal (called after ``done``)."""

    # ------------------------------------------------------------------ control
    def start(self) -> None:
        """Run :meth:`work` in a new thread (returns at once)."""
        if self._thread is not None or self.finished_running:
            raise RuntimeError("this job was already started")
        thread = QThread()
        thread.setObjectName(type(self).__name__)
        runner = _Runner(self._execute)
        runner.moveToThread(thread)
        runner.progress.connect(self.progress, _QUEUED)
        runner.outcome.connect(self._deliver, _QUEUED)
        thread.started.connect(runner.run)
        self._thread, self._runner = thread, runner
        thread.start()

    def run(self) -> None:
        """Do the work synchronously in the calling thread and emit the outcome."""
        self._deliver(*self._execute(self.progress.emit))

    def cancel(self) -> None:
        """Ask the job to stop (thread-safe); it ends with ``failed(CANCELLED_MESSAGE)``."""
        self._cancel.set()

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check_cancelled(self) -> None:
        if self._cancel.is_set():
            raise JobCancelled

    def report_progress(self, done: int, total: int) -> None:
        self._report(int(done), int(total))

    def wait(self, timeout_ms: int = 30000) -> bool:
        """Join the job's thread; True when it ended (or was never started). ``result`` and
        ``error`` are set then; the signals follow when the event loop runs."""
        thread = self._thread
        if thread is None:
            return True
        if not thread.wait(max(0, int(timeout_ms))):
            return False
        self._thread = None
        return True

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    # ------------------------------------------------------------------ internals
    def _execute(self, report: Callable[[int, int], None]) -> tuple[object, str | None]:
        self._report = report
        result: object = None
        error: str | None = None
        try:
            result = self.work()
        except JobCancelled:
            error = self.CANCELLED_MESSAGE
        except VosError as exc:
            error = str(exc)
        except OSError as exc:
            error = f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")
        except Exception as exc:  # noqa: BLE001 - reported to the user
            log.exception("%s failed", type(self).__name__)
            error = f"{type(self).__name__} failed ({type(exc).__name__}: {exc})"
        self.result, self.error, self.finished_running = result, error, True
        return result, error

    @Slot(object, object)
    def _deliver(self, result: object, error: object) -> None:
        if error is None:
            self.done.emit(result)
            self.on_done(result)
        else:
            self.failed.emit(str(error))
        self.ended.emit()
