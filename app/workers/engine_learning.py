"""Learning from the masks, as the first step of a run: the session's adaptation refit, announced
(``adapting(n)``), counted step by step (``learning(done, total, seconds left)``) and ended by a stop
or quit between two steps. Runs in the engine thread; :attr:`Learning.active` is thread-safe."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from app.workers.engine_signals import EngineSignals
from app.workers.worker import JobCancelled
from vos_core import InferenceSession


class Learning:
    """The engine's refits: one at a time, in the engine thread."""

    def __init__(self, signals: EngineSignals) -> None:
        self.signals = signals
        self._active = threading.Event()  # set while a refit runs (engine thread blocked)

    @property
    def active(self) -> bool:
        """True while a refit runs (thread-safe): the engine thread handles nothing else meanwhile."""
        return self._active.is_set()

    def refit(self, session: InferenceSession, should_stop: Callable[[], bool]) -> bool:
        """When ``session``'s adaptation has to learn from changed references, say so and refit it
        now (seconds), reporting each step; ``should_stop`` polled between steps ends it with
        ``JobCancelled`` (the run ends; the refit is still due). -> True when it refitted."""
        count = session.adaptation_due()
        if not count:
            return False
        self.signals.adapting.emit(count)
        started: list[float] = []  # when the steps started (after encoding the masks' copies)

        def progress(done: int, total: int) -> None:
            now = time.perf_counter()
            if not started:
                started.append(now)
            left = (now - started[0]) / done * (total - done) if done else 0.0
            self.signals.learning.emit(done, total, left)

        self._active.set()
        try:
            finished = session.adapt(should_stop=should_stop, progress=progress)
        finally:
            self._active.clear()
        if not finished:
            raise JobCancelled
        return True
