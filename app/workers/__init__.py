"""Background work. One primitive (``worker.py``): a ``Worker`` thread runs ``Job`` objects (a
function, or a generator stepped one item per event-loop turn; cancellable; reports
``progress``/``done``/``failed``/``ended`` on the GUI thread). The engine, exports and imports,
GrabCut and the mask store's autosave all run through it; the GUI thread runs no inference or export.

Engine (``engine_client.py`` / ``engine.py``, ``engine_run.py``, ``engine_signals.py``)
    ``EngineClient(config=None)`` (GUI side; creates the thread and the ``EngineWorker``).
    Non-blocking methods: ``open_video(path, config=None)``, ``configure(SessionConfig)``,
    ``set_reference(frame, labels)`` / ``remove_reference(frame)`` (references, encoded lazily),
    ``restore(references, pins)`` (a reopened project), ``annotate(frame, labels)`` (a reference
    encoded now), ``propagate(start, end, direction="forward", seed=None)``, ``pause()``,
    ``resume()``, ``stop()``, ``pin(entry_id, pinned=True)``, ``evict(entry_id)``,
    ``reset_memory(keep_permanent=True)``, ``reseed(frame, labels)``, ``remove_object(id)``,
    ``forget_predictions(frames)`` / ``remember(masks)`` (undo / redo of a run), ``request_memory()``,
    ``shutdown(timeout_ms=10000) -> bool``. State: ``arch``, ``busy``, ``running``, ``paused``,
    ``memory``, ``last_error``, ``alive``.
    Signals (declared once, in ``EngineSignals``; the client is that object): ``ready(str arch)``,
    ``device_ready(str device)`` (just before ``ready``: "CPU" or "CUDA (<GPU>)"),
    ``frame_ready(object FrameResult)``, ``progress(int done, int total, float fps, float eta_s)``,
    ``memory_changed(object MemoryStats)``,
    ``run_started(int start, int end, str direction)``, ``adapting(int masks)`` (before the first
    frame, while the adaptation learns from the references), ``run_finished(bool completed)``,
    ``failed(str message)``, ``busy_changed(bool)``, ``paused_changed(bool)``.

Export / import (``export.py``, ``davis_export.py``)
    ``export_job_for(document, out_dir, name=None, *, per_object=False, overlay_video=False,
    format="davis", images=None)`` -> ``ExportJob`` (saves first; ``ProjectError`` if that fails;
    ``format``: ``davis`` or a key of ``vos_core.EXPORT_FORMATS``); ``ExportWorker(job)``:
    ``start()`` / ``run()``, ``cancel()``, ``wait(ms)``, signals ``progress(int, int)``,
    ``finished(str out_dir)``, ``failed(str)``, ``ended()``.
    ``ImportWorker(folder, n_frames, hw, name=None, format=None)``: ``finished(object {frame:
    labels})``, ``failed(str)``; with ``format`` (COCO, YOLO-seg, CVAT) also ``names`` and ``notes``.
    ``import_davis_annotations(folder, n_frames, hw, name=None)``.

GrabCut (``grabcut.py``)
    ``GrabCutRunner``: ``start(rgb, box) -> token``; ``finished(int token, object mask)``.
"""

from app.workers.engine import EngineWorker
from app.workers.engine_client import EngineClient
from app.workers.engine_signals import EngineSignals
from app.workers.export import (
    ExportJob,
    ExportWorker,
    ImportWorker,
    export_job_for,
    import_davis_annotations,
)
from app.workers.worker import Job, Worker

__all__ = [
    "EngineClient",
    "EngineSignals",
    "EngineWorker",
    "ExportJob",
    "ExportWorker",
    "ImportWorker",
    "Job",
    "Worker",
    "export_job_for",
    "import_davis_annotations",
]
