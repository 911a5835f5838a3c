"""``PropagationRun``: one propagation as a generator :class:`~app.workers.worker.Job` on the engine
worker, stepped one frame per turn of the thread's event loop; it keeps the run's count, speed and
time left, and hands each result and its end to its :class:`RunHost` (the
:class:`~app.workers.engine.EngineWorker`, which this module does not import: no import cycle)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Protocol

from app.workers.engine_signals import EngineSignals, describe_error
from app.workers.worker import Job
from vos_core import CorrectionRun, FrameResult

log = logging.getLogger(__name__)


class RunHost(Protocol):
    """What a run needs of the engine that started it (engine thread only)."""

    signals: EngineSignals

    def adapt_for_run(self) -> bool: ...

    def stopping(self, number: int) -> bool: ...

    def pause_requested(self) -> bool: ...

    def report_frame(self, result: FrameResult, done: int, total: int, fps: float, eta: float) -> None: ...

    def run_ended(self, run: PropagationRun, completed: bool, error: BaseException | None) -> None: ...


class PropagationRun(Job):
    """One propagation: a generator job on the engine worker, one frame per step."""

    def __init__(
        self,
        engine: RunHost,
        number: int,
        start: int,
        end: int,
        frames: Iterator[FrameResult],
        total: int | None = None,
    ) -> None:
        super().__init__()
        self.engine, self.number, self.start_frame, self.end_frame = engine, number, start, end
        #: frames the run yields at most (``|end - start|`` unless given: a correction's two sides)
        self.total = abs(end - start) if total is None else total
        self.frames = frames
        #: seconds of the adaptation refit before the frames (0 when none was due)
        self.refit_s = 0.0
        #: the frames predicted so far (a correction reports those whose mask changed instead)
        self.predicted: list[int] = []
        self.count = 0
        self.active_s = 0.0
        self.resumed_at = time.perf_counter()

    def work(self) -> Iterator[FrameResult]:
        t0 = time.perf_counter()
        if self.engine.adapt_for_run():
            self.resumed_at = time.perf_counter()  # the speed and time left count frames only
            self.refit_s = self.resumed_at - t0
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
        if not item.given:  # type: ignore[attr-defined]
            self.predicted.append(int(item.index))  # type: ignore[attr-defined]
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

    def frame_seconds(self) -> float:
        """Seconds spent on frames so far (the refit and pauses excluded)."""
        return self.active_s + (0.0 if self.parked else time.perf_counter() - self.resumed_at)

    def summary(self, completed: bool) -> tuple[str, list[int]]:
        """(What ran and how long it took, for the status bar; the frames whose mask it changed.)"""
        frames = self.frames
        if isinstance(frames, CorrectionRun):  # the refit ran before its frames, in work()
            text = frames.stats.summary(refit_s=self.refit_s)
            changed = list(frames.stats.changed)
        else:
            refit = f", learning {self.refit_s:.1f} s" if self.refit_s >= 0.05 else ""
            way = "forward" if self.end_frame >= self.start_frame else "backward"
            text = (
                f"Propagated {way} {self.start_frame}–{self.end_frame}: {len(self.predicted)} frames "
                f"in {self.frame_seconds():.1f} s{refit}"
            )
            changed = list(self.predicted)
        return text + ("" if completed else " (stopped)"), changed

    def on_end(self, result: object, error: BaseException | None) -> None:
        try:
            self.frames.close()  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - a generator closing must not break the worker
            log.exception("closing the propagation failed")
        if error is None or self.error == self.CANCELLED_MESSAGE:
            text, changed = self.summary(result is True)
            self.engine.signals.run_summary.emit(text, changed)
        self.engine.run_ended(self, result is True, error)
