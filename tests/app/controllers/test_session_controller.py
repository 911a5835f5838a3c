"""SessionController with the real engine: a settings change keeps the running session's memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.controllers.session_controller import SessionController
from app.controllers.settings import AppSettings
from tests.app.conftest import square_box, wait_until
from vos_core import EntryKind

TIMEOUT = 120_000


def learnt(controller: SessionController) -> dict[int, EntryKind]:
    stats = controller.document.memory_stats if controller.document is not None else None
    assert stats is not None
    return {e.id: e.kind for e in stats.entries if e.kind != EntryKind.PERMANENT}


def test_memory_settings_apply_to_the_running_session(qtbot, small_video: Path) -> None:
    settings = AppSettings(arch="propagation", threads=1, memory_every=2)
    controller = SessionController(settings)
    errors: list[str] = []
    controller.error.connect(lambda _title, message: errors.append(message))
    try:
        assert controller.open(small_video)
        wait_until(lambda: controller.attached)
        document = controller.document
        assert document is not None
        x0, y0, x1, y1 = square_box(0)
        labels = np.zeros(document.size, np.uint8)
        labels[y0:y1, x0:x1] = 1
        document.edit_mask(0, labels)
        with qtbot.waitSignal(controller.engine.run_finished, timeout=TIMEOUT) as finished:
            assert controller.propagate(0, 23)
        assert finished.args == [True]
        before = learnt(controller)
        assert {EntryKind.WORKING, EntryKind.LONG_TERM} <= set(before.values())
        engine = controller.engine
        with qtbot.waitSignal(engine.ready, timeout=TIMEOUT):
            controller.apply_settings(settings.with_(memory_every=3, long_term_size=12, threads=2))
        assert document.settings.memory.every == 3  # the project records the new settings
        with qtbot.waitSignal(engine.memory_changed, timeout=TIMEOUT):
            engine.request_memory()
        assert learnt(controller) == before  # nothing was rebuilt: the memory is the same
        with qtbot.waitSignal(engine.ready, timeout=TIMEOUT):  # another height: a new session
            controller.apply_settings(controller.settings.with_(process_height=64))
        with qtbot.waitSignal(engine.memory_changed, timeout=TIMEOUT):
            engine.request_memory()
        assert learnt(controller) == {}  # rebuilt from the annotations (frame 0 only)
        assert errors == []
    finally:
        assert controller.shutdown(30_000)
