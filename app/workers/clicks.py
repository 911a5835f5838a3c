"""Click-to-mask off the GUI thread: each inference is a :class:`~app.workers.worker.Job`.

One :class:`ClickRunner` per canvas keeps the click model (loaded by the first job, never on the
GUI thread) with its per-frame feature cache, so the frame encoder runs once per frame and every
further click runs only the click head. The canvas runs one request at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.workers.worker import Job
from vos_core import Click, ClickSegmenter

Box = tuple[int, int, int, int]  # y0, x0, y1, x1 (the click model's order), end exclusive


@dataclass(frozen=True)
class ClickRequest:
    """One inference on frame ``frame`` (H×W×3 RGB ``rgb``): every click so far (frame pixels),
    the object's previous mask or probability (H×W float32, None for none) and the start box."""

    frame: int
    rgb: np.ndarray
    clicks: tuple[Click, ...]
    prev: np.ndarray | None
    box: Box | None


class _Model:
    """The click model, loaded once by the first job that needs it."""

    def __init__(self) -> None:
        self.segmenter: ClickSegmenter | None = None

    def get(self) -> ClickSegmenter:
        if self.segmenter is None:
            self.segmenter = ClickSegmenter.load(threads=1)
        return self.segmenter


class ClickJob(Job):
    """``done`` carries ``(request, probability H×W float32, mask H×W bool)``."""

    def __init__(self, model: _Model, request: ClickRequest, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model, self.request = model, request

    def work(self) -> object:
        r = self.request
        seg = self._model.get()
        enc = seg.features(r.frame, r.rgb)  # cached per frame: the encoder runs once per frame
        prob = seg.predict(enc, r.clicks, r.prev, r.box)
        return r, prob, seg.to_mask(prob, r.rgb)


class ClickRunner(QObject):
    """Runs one click inference at a time; ``finished(request, prob, mask)`` and
    ``failed(message)`` arrive on the GUI thread."""

    finished = Signal(object, object, object)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = _Model()
        self._job: ClickJob | None = None
        self._old: list[ClickJob] = []

    @property
    def busy(self) -> bool:
        return self._job is not None

    def start(self, request: ClickRequest) -> None:
        """Run ``request`` in the background (the caller waits for ``finished`` before the next)."""
        if self._job is not None:
            raise RuntimeError("a click inference is already running")
        job = ClickJob(self._model, request, self)
        job.done.connect(self._on_done)
        job.failed.connect(self._on_failed)
        job.ended.connect(self._reap)
        self._job = job
        job.start()

    def _release(self) -> None:
        """The running job has its outcome: the next request may start (before ``ended``)."""
        if self._job is not None:
            self._old.append(self._job)
            self._job = None

    def _on_done(self, result: object) -> None:
        self._release()
        request, prob, mask = result  # type: ignore[misc]
        self.finished.emit(request, prob, mask)

    def _on_failed(self, message: str) -> None:
        self._release()
        self.failed.emit(message)

    def _reap(self) -> None:
        for old in [j for j in self._old if not j.running]:
            if old.wait(0):
                self._old.remove(old)
                old.deleteLater()

    def wait(self, timeout_ms: int = 5000) -> bool:
        jobs = ([self._job] if self._job is not None else []) + self._old
        return all(job.wait(timeout_ms) for job in jobs)
