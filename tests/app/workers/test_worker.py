"""The worker primitive: function and generator jobs, progress, cancel, pause, failures, calls."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from app.workers.worker import Job, Worker
from vos_core import VosInputError

TIMEOUT = 10_000


class Count(Job):
    """Yields (done, total) ``total`` times, records the thread it ran in, returns ``total``."""

    def __init__(self, total: int, gate: threading.Event | None = None) -> None:
        super().__init__()
        self.total = total
        self.gate = gate
        self.threads: set[str] = set()
        self.items = 0

    def work(self) -> Iterator[tuple[int, int]]:
        for i in range(self.total):
            self.threads.add(threading.current_thread().name)
            if self.gate is not None:
                self.gate.wait(5)
            self.items += 1
            yield i + 1, self.total
        return self.total


class Fails(Job):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error_to_raise = error

    def work(self) -> object:
        raise self.error_to_raise


def test_generator_job_reports_progress_then_done_off_the_gui_thread(qtbot) -> None:
    job = Count(5)
    progress: list[tuple[int, int]] = []
    job.progress.connect(lambda done, total: progress.append((done, total)))
    with qtbot.waitSignal(job.ended, timeout=TIMEOUT):
        with qtbot.waitSignal(job.done, timeout=TIMEOUT) as done:
            job.start()
    assert done.args == [5] and job.result == 5 and job.error is None
    qtbot.waitUntil(lambda: len(progress) == 5, timeout=TIMEOUT)
    assert progress == [(i, 5) for i in range(1, 6)]
    assert threading.current_thread().name not in job.threads
    assert job.wait(TIMEOUT) and not job.running


def test_run_is_synchronous_and_a_job_starts_once(qtbot) -> None:
    job = Count(3)
    outcomes: list[object] = []
    job.done.connect(outcomes.append)
    job.run()
    assert outcomes == [3] and job.threads == {threading.current_thread().name}
    with pytest.raises(RuntimeError):
        job.start()


def test_cancel_stops_between_items(qtbot) -> None:
    gate = threading.Event()
    job = Count(1000, gate)
    with qtbot.waitSignal(job.failed, timeout=TIMEOUT) as failed:
        job.start()
        job.cancel()
        gate.set()
    assert failed.args == [Job.CANCELLED_MESSAGE]
    assert job.items < 1000
    assert job.wait(TIMEOUT)


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (VosInputError("the video is unreadable"), "the video is unreadable"),
        (FileNotFoundError(2, "No such file", "/nowhere.png"), "No such file: /nowhere.png"),
        (ValueError("bad"), "Fails failed (ValueError: bad)"),
    ],
)
def test_failures_are_one_line_messages(qtbot, error: Exception, message: str) -> None:
    job = Fails(error)
    with qtbot.waitSignal(job.failed, timeout=TIMEOUT) as failed:
        job.start()
    assert failed.args == [message] and job.exception is error
    assert job.wait(TIMEOUT)


def test_shared_worker_steps_jobs_and_calls_in_turn_and_pauses(qtbot) -> None:
    worker = Worker("test-worker")
    try:
        job = Count(50)
        job.set_paused(True)
        order: list[str] = []
        worker.submit(job)
        qtbot.waitUntil(lambda: job.parked, timeout=TIMEOUT)
        assert job.items == 0
        worker.call(lambda: order.append(f"call after {job.items} items"))
        qtbot.waitUntil(lambda: len(order) == 1, timeout=TIMEOUT)
        assert order == ["call after 0 items"]  # a queued call runs while the job waits
        with qtbot.waitSignal(job.done, timeout=TIMEOUT):
            job.set_paused(False)
        assert job.items == 50 and job.threads == {next(iter(job.threads))}
        blocked = Count(10**6)
        worker.submit(blocked)
        qtbot.waitUntil(lambda: blocked.items > 0, timeout=TIMEOUT)
    finally:
        assert worker.shutdown(TIMEOUT)  # ends the job still running
    assert blocked.finished_running and blocked.error == Job.CANCELLED_MESSAGE
    assert not worker.call(lambda: None)
