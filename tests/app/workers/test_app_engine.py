"""EngineWorker / EngineClient: real session on the tiny square video, in its own thread."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from synthetic_video import SyntheticVideo, iou

from app.workers.engine_client import EngineClient
from vos_core import EntryKind, FrameResult, MemoryConfig, SessionConfig
from vos_core.models.archs.propagation import LabelPropagation

TIMEOUT = 120_000
CONFIG = SessionConfig(threads=1)


class Recorder:
    """Collects what the client emits."""

    def __init__(self, client: EngineClient) -> None:
        self.results: list[FrameResult] = []
        self.failures: list[str] = []
        self.finished: list[bool] = []
        self.progress: list[tuple[int, int, float, float]] = []
        self.busy: list[bool] = []
        client.frame_ready.connect(self.results.append)
        client.failed.connect(self.failures.append)
        client.run_finished.connect(self.finished.append)
        client.progress.connect(lambda *args: self.progress.append(args))
        client.busy_changed.connect(self.busy.append)

    def predicted(self) -> list[FrameResult]:
        return [r for r in self.results if not r.given]


@pytest.fixture
def client(qtbot, video: SyntheticVideo, no_thread_leaks) -> Iterator[EngineClient]:
    engine = EngineClient()
    with qtbot.waitSignal(engine.ready, timeout=TIMEOUT) as ready:
        engine.open_video(str(video.path), CONFIG)
    assert ready.args == ["propagation"]
    yield engine
    assert engine.shutdown(30_000)
    assert not engine.alive


def annotate_first(qtbot, client: EngineClient, video: SyntheticVideo) -> None:
    with qtbot.waitSignal(client.frame_ready, timeout=TIMEOUT) as got:
        client.annotate(0, video.masks[0])
    assert got.args[0].given and got.args[0].index == 0


def run(qtbot, client: EngineClient, start: int, end: int, **kwargs) -> bool:
    with qtbot.waitSignal(client.run_finished, timeout=TIMEOUT) as finished:
        client.propagate(start, end, **kwargs)
    return bool(finished.args[0])


def test_propagation_follows_the_square(qtbot, client: EngineClient, video: SyntheticVideo) -> None:
    seen = Recorder(client)
    annotate_first(qtbot, client, video)
    assert run(qtbot, client, 0, 19)
    predicted = seen.predicted()
    assert [r.index for r in predicted] == list(range(1, 20))
    scores = [iou(r.labels == 1, video.masks[r.index] == 1) for r in predicted]
    assert min(scores) > 0.5, scores
    assert seen.progress[-1][:2] == (19, 19)
    assert all(fps > 0 for _, _, fps, _ in seen.progress)
    assert seen.progress[-1][3] == 0.0
    assert seen.failures == []
    assert client.memory is not None and client.memory.count(EntryKind.PERMANENT) == 1
    assert seen.busy[-1] is False and not client.busy and not client.running


def test_backward_run_from_a_seed(qtbot, client: EngineClient, video: SyntheticVideo) -> None:
    seen = Recorder(client)
    assert run(qtbot, client, 19, 10, direction="backward", seed=video.masks[19])
    assert [r.index for r in seen.results] == list(range(18, 9, -1))


def test_stop_mid_run_then_continue(qtbot, client: EngineClient, video: SyntheticVideo) -> None:
    seen = Recorder(client)
    annotate_first(qtbot, client, video)

    def stop_at_third(result: FrameResult) -> None:
        if not result.given and result.index == 3:
            client.stop()

    # in the engine thread, as frame 3 is emitted: on a busy machine the GUI thread may hear of it
    # frames later, so only a direct connection measures "within one frame" of the request
    client.frame_ready.connect(stop_at_third, Qt.ConnectionType.DirectConnection)
    assert not run(qtbot, client, 0, 19)
    client.frame_ready.disconnect(stop_at_third)
    last = seen.predicted()[-1].index
    assert 3 <= last <= 4  # takes effect within one frame
    assert run(qtbot, client, last, 19)  # continues from the session's own last result
    indices = [r.index for r in seen.predicted()]
    assert indices == list(range(1, last + 1)) + list(range(last + 1, 20))


def test_stop_before_the_run_starts(qtbot, client: EngineClient, video: SyntheticVideo) -> None:
    seen = Recorder(client)
    annotate_first(qtbot, client, video)
    with qtbot.waitSignal(client.run_finished, timeout=TIMEOUT) as finished:
        client.propagate(0, 19)
        client.stop()
    assert finished.args == [False]
    assert len(seen.predicted()) <= 1
    assert run(qtbot, client, 0, 5)  # a new request is not affected by the earlier stop


def test_pause_and_resume(qtbot, client: EngineClient, video: SyntheticVideo) -> None:
    seen = Recorder(client)
    annotate_first(qtbot, client, video)

    def pause_at_fifth(result: FrameResult) -> None:
        if result.index == 5:
            client.pause()

    client.frame_ready.connect(pause_at_fifth)
    with qtbot.waitSignal(client.paused_changed, timeout=TIMEOUT) as paused:
        client.propagate(0, 19)
    assert paused.args == [True] and client.paused and client.running
    qtbot.wait(200)
    count = len(seen.predicted())
    assert count in (5, 6)
    with qtbot.waitSignal(client.run_finished, timeout=TIMEOUT) as finished:
        client.resume()
    assert finished.args == [True]
    assert [r.index for r in seen.predicted()] == list(range(1, 20))


def test_pin_and_evict_during_a_run(qtbot, client: EngineClient, video: SyntheticVideo) -> None:
    seen = Recorder(client)
    annotate_first(qtbot, client, video)
    done: dict[str, int] = {}

    def edit_memory(result: FrameResult) -> None:
        working = [e for e in result.memory.entries if e.kind == EntryKind.WORKING]
        if "pin" not in done and working:
            done["pin"] = working[0].id
            client.pin(working[0].id, True)
        elif "pin" in done and "evict" not in done and len(working) >= 2:
            victim = next(e.id for e in working if e.id != done["pin"])
            done["evict"] = victim
            client.evict(victim)

    client.frame_ready.connect(edit_memory)
    assert run(qtbot, client, 0, 19)
    assert set(done) == {"pin", "evict"}
    with qtbot.waitSignal(client.memory_changed, timeout=TIMEOUT) as memory:
        client.request_memory()
    entries = {e.id: e for e in memory.args[0].entries}
    assert entries[done["pin"]].pinned
    assert done["evict"] not in entries
    assert seen.failures == []
    client.evict(10_000)  # unknown entry: ignored, memory refreshed, no failure
    with qtbot.waitSignal(client.memory_changed, timeout=TIMEOUT):
        client.request_memory()
    assert seen.failures == []


def test_model_error_is_reported_and_session_survives(
    qtbot, client: EngineClient, video: SyntheticVideo, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = Recorder(client)
    annotate_first(qtbot, client, video)
    original = LabelPropagation.decode
    calls = {"n": 0}

    def flaky_decode(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("injected decoder failure")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(LabelPropagation, "decode", flaky_decode)
    with qtbot.waitSignal(client.failed, timeout=TIMEOUT) as failed:
        client.propagate(0, 19)
    qtbot.waitUntil(lambda: seen.finished == [False], timeout=TIMEOUT)
    assert "injected decoder failure" in failed.args[0]
    assert client.alive and not client.running
    monkeypatch.setattr(LabelPropagation, "decode", original)
    assert run(qtbot, client, 0, 19)
    last = seen.predicted()[-19:]
    assert [r.index for r in last] == list(range(1, 20))


def test_errors_are_messages(qtbot, client: EngineClient, video: SyntheticVideo) -> None:
    seen = Recorder(client)
    with qtbot.waitSignal(client.run_finished, timeout=TIMEOUT) as finished:
        client.propagate(5, 10)  # frame 5 has no mask: the session refuses
    assert finished.args == [False]
    assert seen.failures and "frame 5" in seen.failures[0]
    with qtbot.waitSignal(client.failed, timeout=TIMEOUT) as failed:
        client.annotate(0, np.zeros((3, 3), np.uint8))
    assert "does not match" in failed.args[0] or "size" in failed.args[0]


def test_reseed_reset_and_reconfigure(qtbot, client: EngineClient, video: SyntheticVideo) -> None:
    annotate_first(qtbot, client, video)
    seen = Recorder(client)
    with qtbot.waitSignal(client.run_finished, timeout=TIMEOUT):
        client.propagate(0, 3)
    with qtbot.waitSignal(client.frame_ready, timeout=TIMEOUT):
        client.reseed(10, video.masks[10])
    result = seen.results[-1]
    assert result.index == 10 and result.given
    assert [e.frame for e in result.memory.entries] == [10]  # everything else was forgotten
    with qtbot.waitSignal(
        client.memory_changed, timeout=TIMEOUT, check_params_cb=lambda stats: stats.entries == ()
    ):
        client.reset_memory(False)
    annotate_first(qtbot, client, video)
    with qtbot.waitSignal(client.ready, timeout=TIMEOUT):
        client.configure(SessionConfig(threads=1, process_height=64))
    with qtbot.waitSignal(client.memory_changed, timeout=TIMEOUT) as memory:
        client.request_memory()
    assert memory.args[0].entries == ()  # references are encoded lazily, when a run starts
    assert run(qtbot, client, 0, 4)
    # the rebuilt session kept the references it was given (10 by reseed, then 0)
    assert client.memory is not None
    permanent = [e.frame for e in client.memory.entries if e.kind == EntryKind.PERMANENT]
    assert permanent == [0, 10]


def test_settings_change_keeps_working_and_long_term_memory(
    qtbot, client: EngineClient, video: SyntheticVideo
) -> None:
    """Memory and thread settings reach the running session in place: nothing is rebuilt, so
    the working and long-term entries learnt from a run are still there afterwards."""
    with qtbot.waitSignal(client.ready, timeout=TIMEOUT):
        client.configure(SessionConfig(threads=1, memory=MemoryConfig(every=2)))
    annotate_first(qtbot, client, video)
    assert run(qtbot, client, 0, 19)
    with qtbot.waitSignal(client.memory_changed, timeout=TIMEOUT) as before:
        client.request_memory()
    learnt = {e.id: e.kind for e in before.args[0].entries if e.kind != EntryKind.PERMANENT}
    assert {EntryKind.WORKING, EntryKind.LONG_TERM} <= set(learnt.values())
    seen = Recorder(client)
    with qtbot.waitSignal(client.ready, timeout=TIMEOUT):
        client.configure(SessionConfig(threads=2, memory=MemoryConfig(every=3, long_term_size=10)))
    with qtbot.waitSignal(client.memory_changed, timeout=TIMEOUT) as after:
        client.request_memory()
    assert {e.id: e.kind for e in after.args[0].entries if e.kind != EntryKind.PERMANENT} == learnt
    assert seen.failures == []
    assert run(qtbot, client, 19, 10, direction="backward", seed=video.masks[19])  # still usable


def test_bad_video_fails_cleanly(qtbot, tmp_path: Path, no_thread_leaks) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video")
    engine = EngineClient()
    try:
        with qtbot.waitSignal(engine.failed, timeout=TIMEOUT) as failed:
            engine.open_video(str(bad), CONFIG)
        assert "broken.mp4" in failed.args[0]
        with qtbot.waitSignal(engine.failed, timeout=TIMEOUT) as failed:
            engine.propagate(0, 3)
        assert "no video" in failed.args[0]
    finally:
        assert engine.shutdown(30_000)
    assert engine.shutdown()  # idempotent


def test_an_engine_left_running_is_stopped_at_teardown(
    qtbot, video: SyntheticVideo, engines_stopped: list[EngineClient]
) -> None:
    """Issue 24: a test that ends with its engine in the middle of a run (here: on purpose, no
    shutdown) must not destroy the running thread; the ``engines_stopped`` fixture of
    tests/app/conftest.py stops and joins it (teardown fails if it cannot)."""
    engine = EngineClient()
    assert engines_stopped == [engine]
    with qtbot.waitSignal(engine.ready, timeout=TIMEOUT):
        engine.open_video(str(video.path), CONFIG)
    annotate_first(qtbot, engine, video)
    with qtbot.waitSignal(engine.frame_ready, timeout=TIMEOUT):
        engine.propagate(0, 19)
    assert engine.alive and engine.running  # left running: the fixture takes it from here
