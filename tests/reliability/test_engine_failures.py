"""The engine on bad inputs: a video that stops decoding mid-run, and corrupt weights."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from app.model.document import Document
from app.model.project import Project
from app.workers.engine_client import EngineClient
from tests.app.conftest import document_with_engine
from tests.reliability import corpus
from tests.reliability.test_bad_inputs import learned_arch, write_corrupt_weights
from vos_core.config import SessionConfig

TIMEOUT = 120_000


@pytest.fixture
def damaged(qtbot, tmp_path: Path) -> Iterator[tuple[Document, EngineClient]]:
    """The damaged video (frames 12..14 undecodable) open in a document wired to a real engine."""
    with document_with_engine(qtbot, corpus.midway_corrupt_video(tmp_path)) as pair:
        yield pair  # type: ignore[misc]


def test_undecodable_frame_stops_the_run_and_keeps_the_rest(qtbot, damaged) -> None:
    document, engine = damaged
    document.add_object("square")
    document.edit_mask(0, corpus.first_mask())
    failures: list[str] = []
    engine.failed.connect(failures.append)
    with qtbot.waitSignal(engine.run_finished, timeout=TIMEOUT) as finished:
        assert document.propagate(0, 29)
    assert finished.args == [False]
    assert len(failures) == 1 and "Frame 12" in failures[0] and "\n" not in failures[0]
    assert document.masks.propagated_frames() == list(range(1, 12))  # all the good frames so far
    assert document.undo_stack.undoText().startswith("Propagate")
    assert document.save()
    assert Project.open_for(document.video_path).propagated_frames() == list(range(1, 12))
    # a new run after the damage starts and completes
    document.edit_mask(20, np.roll(corpus.first_mask(), 0, axis=1))
    with qtbot.waitSignal(engine.run_finished, timeout=TIMEOUT) as finished:
        assert document.propagate(20, 29)
    assert finished.args == [True] and len(failures) == 1
    assert document.masks.propagated_frames() == [*range(1, 12), *range(21, 30)]


def test_corrupt_weights_fail_the_engine_cleanly(
    qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arch, filename = learned_arch()
    for kind in ("hash", "unreadable"):
        folder = write_corrupt_weights(tmp_path / kind, arch, filename, kind)
        monkeypatch.setenv("VOS_WEIGHTS_DIR", str(folder))
        engine = EngineClient()
        try:
            with qtbot.waitSignal(engine.failed, timeout=TIMEOUT) as failed:
                engine.open_video(str(corpus.good_video(tmp_path)), SessionConfig(arch=arch, threads=1))
            message = failed.args[0]
            assert filename in message and "\n" not in message
            with qtbot.waitSignal(engine.failed, timeout=TIMEOUT) as failed:
                engine.propagate(0, 3)  # no session: refused, the engine thread still answers
            assert "no video" in failed.args[0]
        finally:
            assert engine.shutdown(30_000)
