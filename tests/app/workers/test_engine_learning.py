"""Learning from the masks is a job of the engine: it reports its steps, Stop and Quit end it between
two steps, commands that cannot run meanwhile are refused (not queued), the GUI keeps ticking, and
the fit is kept in the project so a reopen with the same masks learns nothing."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QTimer
from synthetic_video import SyntheticVideo

from app.workers.engine_client import EngineClient
from vos_core import AdaptConfig, SessionConfig

TIMEOUT = 120_000
#: a refit that never ends by itself within a test: only Stop or Quit can end it
ENDLESS = 100_000


def _config(steps: int) -> SessionConfig:
    adapt = AdaptConfig(steps=steps, copies=2, holdout=1, warm_steps=2, threads=1)
    return SessionConfig(arch="stcn", threads=1, adapt=adapt)


@pytest.fixture
def make_client(qtbot, video: SyntheticVideo, no_thread_leaks) -> Iterator:
    clients: list[EngineClient] = []

    def make(steps: int, keep_in: Path | None = None) -> EngineClient:
        client = EngineClient()
        clients.append(client)
        with qtbot.waitSignal(client.ready, timeout=TIMEOUT):
            client.open_video(str(video.path), _config(steps), keep_in)
        client.set_reference(0, video.masks[0])
        return client

    yield make
    for client in clients:
        assert client.shutdown(30_000)


def _learning(client: EngineClient) -> list[tuple[int, int, float]]:
    steps: list[tuple[int, int, float]] = []
    client.learning.connect(lambda *args: steps.append(args))
    return steps


def test_stop_ends_a_refit_between_two_steps(qtbot, make_client) -> None:
    client = make_client(ENDLESS)
    steps = _learning(client)
    frames: list[object] = []
    client.frame_ready.connect(frames.append)
    client.propagate(0, 19)
    qtbot.waitUntil(lambda: len(steps) >= 3, timeout=TIMEOUT)  # learning: steps are reported
    assert all(total == ENDLESS for _, total, _ in steps) and steps[-1][2] > 0  # time left
    refused: list[str] = []
    client.refused.connect(refused.append)
    client.propagate(0, 10)  # cannot run now: refused at once, never queued to run later
    client.reseed(0, np.zeros((96, 128), np.uint8))
    assert len(refused) == 2 and "learning" in refused[0]
    with qtbot.waitSignal(client.run_finished, timeout=TIMEOUT) as finished:
        client.stop()
    assert finished.args == [False]
    assert steps[-1][0] < ENDLESS and frames == []  # ended within the refit, before any frame
    assert client.last_error is None  # a stop is no failure
    # nothing was queued meanwhile: no run starts by itself afterwards
    started: list[object] = []
    client.run_started.connect(lambda *args: started.append(args))
    with qtbot.waitSignal(client.memory_changed, timeout=TIMEOUT):
        client.request_memory()
    assert started == []


def test_quit_during_a_refit_joins_the_engine_thread(qtbot, make_client) -> None:
    client = make_client(ENDLESS)
    steps = _learning(client)
    client.propagate(0, 19)
    qtbot.waitUntil(lambda: len(steps) >= 2, timeout=TIMEOUT)
    assert client.shutdown(30_000)  # the refit ends at its next step; the thread is joined
    assert not client.alive


def test_the_gui_keeps_ticking_during_a_refit(qtbot, make_client) -> None:
    """Counted in ticks, not wall time: a 1 ms GUI timer fires between two refit steps (between most
    of them: on a loaded machine the OS may deliver two steps' signals in one turn of the loop)."""
    client = make_client(40)
    ticks = [0]
    at_step: list[int] = []
    timer = QTimer()
    timer.setInterval(1)
    timer.timeout.connect(lambda: ticks.__setitem__(0, ticks[0] + 1))
    client.learning.connect(lambda done, total, left: at_step.append(ticks[0]))
    timer.start()
    with qtbot.waitSignal(client.run_finished, timeout=TIMEOUT) as finished:
        client.propagate(0, 19)
    timer.stop()
    assert finished.args == [True] and len(at_step) == 41  # (0, 40), then every step
    gaps = [b - a for a, b in pairwise(at_step[1:])]
    assert sum(gap >= 1 for gap in gaps) >= len(gaps) * 3 // 4, gaps  # the GUI's loop keeps turning


def test_a_reopened_project_with_the_same_masks_learns_nothing(qtbot, make_client, tmp_path: Path) -> None:
    keep_in = tmp_path / "project.vosproj" / "adaptation"
    runs = []
    for attempt in range(2):
        client = make_client(6, keep_in)
        steps = _learning(client)
        adapting: list[int] = []
        client.adapting.connect(adapting.append)
        results: list[object] = []
        client.frame_ready.connect(results.append)
        with qtbot.waitSignal(client.run_finished, timeout=TIMEOUT) as finished:
            client.propagate(0, 19)
        assert finished.args == [True]
        runs.append([r.labels.tobytes() for r in results])  # type: ignore[attr-defined]
        if attempt == 0:
            assert adapting == [1] and steps[-1][:2] == (6, 6) and (keep_in / "fit.pt").is_file()
        else:
            assert adapting == [] and steps == []  # the kept fit: no refit
        assert client.shutdown(30_000)
    assert runs[0] == runs[1]  # byte-identical masks
