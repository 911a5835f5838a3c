"""Box-to-mask off the GUI thread: each GrabCut is a :class:`~app.workers.worker.Job`."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.workers.worker import Job
from vos_core import grabcut_box

Box = tuple[int, int, int, int]


def box_mask(shape_hw: tuple[int, int], box: Box) -> np.ndarray:
    """H×W bool mask of the whole box (the fallback when GrabCut fails)."""
    mask = np.zeros(shape_hw, dtype=bool)
    x0, y0, x1, y1 = box
    mask[max(0, y0) : y1, max(0, x0) : x1] = True
    return mask


class GrabCutJob(Job):
    """One GrabCut; ``done`` carries the H×W bool mask, empty when GrabCut found no object in the
    box (``failed`` when it could not run)."""

    def __init__(self, token: int, rgb: np.ndarray, box: Box, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.token, self._rgb, self._box = token, rgb, box

    def work(self) -> object:
        return grabcut_box(self._rgb, self._box)


class GrabCutRunner(QObject):
    """Runs GrabCuts in the background; ``finished(token, mask)`` (an empty mask: no object found)
    and ``failed(token, message)`` arrive on the GUI thread."""

    finished = Signal(int, object)
    failed = Signal(int, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._token = 0
        self._jobs: list[GrabCutJob] = []

    def start(self, rgb: np.ndarray, box: Box) -> int:
        self._token += 1
        job = GrabCutJob(self._token, rgb.copy(), box, self)
        job.done.connect(lambda mask, token=self._token: self.finished.emit(token, mask))
        job.failed.connect(lambda message, token=self._token: self.failed.emit(token, message))
        job.ended.connect(self._reap)
        self._jobs.append(job)
        job.start()
        return self._token

    def _reap(self) -> None:
        for job in [j for j in self._jobs if not j.running]:
            if job.wait(0):
                self._jobs.remove(job)
                job.deleteLater()

    @property
    def busy(self) -> bool:
        return any(job.running for job in self._jobs)

    def wait(self, timeout_ms: int = 5000) -> bool:
        return all(job.wait(timeout_ms) for job in list(self._jobs))
