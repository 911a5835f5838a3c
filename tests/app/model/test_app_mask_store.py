"""MaskStore: cache, sources, autosave in a writer thread, flush, failures, crash safety."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from synthetic_video import SyntheticVideo

from app.model.mask_store import MaskStore
from app.model.project import Project
from vos_core.errors import VosInputError

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def store(qtbot, video: SyntheticVideo):
    project = Project.open_for(video.path)
    masks = MaskStore(project, autosave_ms=100)
    yield masks
    masks.close()


def test_set_get_sources_and_signal(qtbot, store: MaskStore, video: SyntheticVideo) -> None:
    with qtbot.waitSignal(store.changed) as changed:
        store.set(0, video.masks[0], "user")
    assert changed.args == [0]
    store.set(1, video.masks[1], "propagated")
    store.set(2, video.masks[2].astype(bool), "propagated")
    assert store.source(0) == "user" and store.source(1) == "propagated" and store.source(3) is None
    assert store.annotated_frames() == [0] and store.propagated_frames() == [1, 2]
    labels = store.get(0)
    np.testing.assert_array_equal(labels, video.masks[0])
    assert labels is not None and not labels.flags.writeable
    with pytest.raises(ValueError):
        store.set(3, np.zeros((5, 5), np.uint8), "user")
    with pytest.raises(ValueError):
        store.set(3, video.masks[3], "guess")  # type: ignore[arg-type]
    with pytest.raises(IndexError):
        store.set(20, video.masks[0], "user")
    store.clear(1)
    assert store.get(1) is None and store.source(1) is None


def test_autosave_writes_masks_then_json(qtbot, store: MaskStore, video: SyntheticVideo) -> None:
    project = store.project
    with qtbot.waitSignal(store.saved, timeout=2000):
        store.set(5, video.masks[5], "user")
    assert project.mask_path(5).is_file() and store.pending == 0
    assert json.loads(project.json_path.read_text())["annotated_frames"] == [5]
    store.clear(5)
    assert store.flush()
    assert not project.mask_path(5).exists()
    assert json.loads(project.json_path.read_text())["annotated_frames"] == []


def test_reads_back_from_disk_through_a_small_cache(qtbot, video: SyntheticVideo) -> None:
    project = Project.open_for(video.path)
    store = MaskStore(project, cache_bytes=2 * video.masks[0].nbytes)
    for frame in range(10):
        store.set(frame, video.masks[frame], "propagated")
    assert store.flush()
    store.close()
    reopened = MaskStore(Project.open_for(video.path), cache_bytes=2 * video.masks[0].nbytes)
    try:
        for frame in range(10):
            np.testing.assert_array_equal(reopened.get(frame), video.masks[frame])
        assert len(reopened._cache) == 2
    finally:
        reopened.close()


def test_writes_do_not_block_the_caller(
    qtbot, store: MaskStore, video: SyntheticVideo, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = store.project.write_mask
    writer_threads: set[str] = set()
    gate = threading.Event()  # the writes wait here: the caller returning proves it did not wait

    def slow_write(frame, labels, source):
        writer_threads.add(threading.current_thread().name)
        gate.wait()
        original(frame, labels, source)

    monkeypatch.setattr(store.project, "write_mask", slow_write)
    for frame in range(3):
        store.set(frame, video.masks[frame], "user")
    store._submit()  # what the autosave timer does
    assert store.pending == 3 and not store.all_saved  # returned with every write still held
    np.testing.assert_array_equal(store.get(2), video.masks[2])  # served from memory meanwhile
    gate.set()
    assert store.flush()
    assert writer_threads and threading.current_thread().name not in writer_threads
    assert all(store.project.mask_path(frame).is_file() for frame in range(3))


def test_failed_write_keeps_the_mask_and_is_retried(
    qtbot, store: MaskStore, video: SyntheticVideo, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = store.project.write_mask

    def full_disk(frame, labels, source):
        raise VosInputError(f"Cannot write {store.project.mask_path(frame)}: No space left on device")

    monkeypatch.setattr(store.project, "write_mask", full_disk)
    problems: list[str] = []
    store.problem.connect(problems.append)
    store.set(6, video.masks[6], "user")
    assert not store.flush()
    assert problems and "No space left" in problems[0]
    np.testing.assert_array_equal(store.get(6), video.masks[6])
    assert store.pending == 1
    monkeypatch.setattr(store.project, "write_mask", original)
    assert store.flush()
    assert store.pending == 0 and store.project.mask_path(6).is_file()


def test_unreadable_mask_is_reported_and_forgotten(qtbot, video: SyntheticVideo) -> None:
    project = Project.open_for(video.path)
    project.write_mask(2, video.masks[2], "user")
    project.sources[2] = "user"
    project.save()
    data = project.mask_path(2).read_bytes()
    project.mask_path(2).write_bytes(data[:-40])
    store = MaskStore(Project.open_for(video.path))
    try:
        with qtbot.waitSignal(store.problem, timeout=2000) as problem:
            assert store.get(2) is None
        assert "frame 2" in problem.args[0]
        assert store.source(2) is None
    finally:
        store.close()


_CHILD = textwrap.dedent(
    """
    import sys
    import numpy as np
    from PySide6.QtCore import QCoreApplication
    from app.model.mask_store import MaskStore
    from app.model.project import Project

    app = QCoreApplication([])
    store = MaskStore(Project.open_for(sys.argv[1]), autosave_ms=1)
    round_ = 0
    while True:
        round_ += 1
        for frame in range(20):
            labels = np.full((96, 128), (round_ + frame) % 200 + 1, np.uint8)
            labels[: frame + 1] = 0
            store.set(frame, labels, "user" if frame % 2 else "propagated")
            app.processEvents()
        store.flush()
        print(round_, flush=True)
    """
)


@pytest.mark.slow
def test_sigkill_never_leaves_a_broken_frame(video: SyntheticVideo) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO), QT_QPA_PLATFORM="offscreen")
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(video.path)], stdout=subprocess.PIPE, env=env, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "1"  # one full round is on disk
        time.sleep(0.37)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    project = Project.open_for(video.path)
    assert project.problems == []
    assert sorted(project.sources) == list(range(20))
    for frame in range(20):
        labels = project.read_mask(frame)
        assert labels is not None
        assert not labels[: frame + 1].any()
        values = np.unique(labels[frame + 1 :])
        assert len(values) == 1 and 1 <= values[0] <= 200
        assert project.sources[frame] == ("user" if frame % 2 else "propagated")
