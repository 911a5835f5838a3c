"""``PropagationRun``: one propagation as a generator :class:`~app.workers.worker.Job` on the engine
worker, stepped one frame per turn of the thread's event loop; it keeps the run's count, speed and
time left, and hands each result and its end to the :class:`~app.workers.engine.EngineWorker`."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from app.workers.engine_signals import describe_error
from app.workers.worker import Job
from vos_core import FrameResult

if TYPE_CHECKING:
    from app.workers.engine import EngineWorker

log = logging.getLogger(__name__)


class PropagationRun(Job):
    """One propagation: a generator job on the engine worker, one frame per step."""

    def __init__(
        self, engine: EngineWorker, number: int, start: int, end: int, frames: Iterator[FrameResult]
    ) -> None:
        super().__init__()
        self.engine, self.number, self.start_frame, self.end_frame = engine, number, start, end
        self.total = abs(end - start)
        self.frames = frames
        self.count = 0
        self.active_s = 0.0
        self.resumed_at = time.perf_counter()

    def work(self) -> Iterator[FrameResult]:
        if self.engine.adapt_for_run():
            self.resumed_at = time.perf_counter()  # the speed and time left count frames only
        while self.count < self.total:
            try:
                result = next(self.frames)
            except StopIteration:
                return False
            yield result
        return True

    def cancelled(self) -> bool:
        return self.engine.stopping(self.number)

    def paused(self) -> bool:
        return self.engine.pause_requested()

    def describe(self, error: BaseException) -> str:
        return describe_error(error)

    def on_item(self, item: object) -> None:
        self.count += 1
        elapsed = self.active_s + (time.perf_counter() - self.resumed_at)
        fps = self.count / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.count) / fps if fps > 0 else 0.0
        self.engine.report_frame(item, self.count, self.total, fps, eta)  # type: ignore[arg-type]

    def on_parked(self) -> None:
        self.active_s += time.perf_counter() - self.resumed_at
        self.engine.signals.paused_changed.emit(True)

    def resumed(self) -> None:
        self.resumed_at = time.perf_counter()
        self.engine.signals.paused_changed.emit(False)

    def on_end(self, result: object, error: BaseException | None) -> None:
        try:
            self.frames.close()  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - a generator closing must not break the worker
            log.exception("closing the propagation failed")
        self.engine.run_ended(self, result is True, error)
