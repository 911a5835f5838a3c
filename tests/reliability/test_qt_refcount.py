"""Long sessions emit millions of signals: none of them may cost a reference to ``True``.

PySide6 6.12 on CPython 3.11 drops one per ``emit()``/``disconnect()``; without ``app.qt_fixes``
the interpreter aborted after a few thousand propagated frames (see that module)."""

from __future__ import annotations

import gc
import sys

import numpy as np
from PySide6.QtCore import QObject, Signal

import app  # noqa: F401 - installs the fix
from app.model.mask_store import MaskStore
from app.model.project import Project


class Emitter(QObject):
    changed = Signal(int)


def test_emit_and_disconnect_keep_true_alive() -> None:
    emitter = Emitter()
    seen: list[int] = []
    gc.collect()
    before = sys.getrefcount(True)
    for i in range(20_000):
        emitter.changed.emit(i)  # unconnected
    emitter.changed.connect(seen.append)
    for i in range(20_000):
        emitter.changed.emit(i)
    for _ in range(2_000):
        emitter.changed.disconnect(seen.append)
        emitter.changed.connect(seen.append)
    assert len(seen) == 20_000
    gc.collect()
    assert sys.getrefcount(True) > before - 2_000  # 42k calls; unrelated objects come and go


def test_a_long_run_through_the_mask_store_survives(qapp, tmp_path) -> None:
    project = Project(tmp_path / "p.vosproj", tmp_path / "v.mp4", 20_000, (4, 4))
    project.masks_dir.mkdir(parents=True)
    store = MaskStore(project, autosave_ms=1000)
    gc.collect()
    before = sys.getrefcount(True)
    labels = np.ones((4, 4), np.uint8)
    try:
        for frame in range(20_000):  # 20k emits of ``changed``: aborted the process before the fix
            store.set(frame, labels, "propagated")
        gc.collect()
        assert sys.getrefcount(True) > before - 1_000  # a leak would be one per frame
    finally:
        store._timer.stop()  # noqa: SLF001 - do not write 20k files; nothing to keep
        store._unsaved.clear()  # noqa: SLF001
        store._dirty.clear()  # noqa: SLF001
        store.close()
