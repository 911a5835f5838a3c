"""The one CPU policy: how OpenMP threads wait, and how many threads each part of the work gets.

Waiting: torch's OpenMP runtime (libgomp, which MKL and oneDNN use too) reads ``OMP_WAIT_POLICY``
once, when torch loads. Left at its default, a thread that waits at a barrier spins on its core,
and on a machine whose cores are shared with other programs the spinners steal the time slices of
the very threads they wait for: a refit that takes 7 s idle took 136-293 s beside other processes,
against 26 s with ``PASSIVE`` (identical masks). So :func:`wait_passively` makes passive waiting the
default (a value the user set wins); ``vos_core/__init__.py`` calls it before anything can import
torch, so every entry point (the app, the CLIs, the tests, the benches that import ``vos_core``
before torch) gets it. This module imports torch only inside its functions for that reason.

Counts: computed here only. Nothing in ``vos_core`` changes torch's global thread count behind the
caller's back: entry points (the CLIs, the app's engine thread, benches) call
:meth:`ThreadBudget.apply`; the one exception is :func:`torch_threads`, which lends a burst of work
(the adaptation's refit, which runs before a run's frames, never beside them) more threads and
gives the count back after.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

log = logging.getLogger(__name__)

#: the variable libgomp reads when torch loads, and the project's default for it
WAIT_POLICY_VARIABLE = "OMP_WAIT_POLICY"
DEFAULT_WAIT_POLICY = "PASSIVE"


def wait_passively() -> str:
    """Make OpenMP threads sleep instead of spinning while they wait (``OMP_WAIT_POLICY=PASSIVE``)
    unless the environment already chose a policy. Takes effect only if torch has not been loaded
    yet (then a warning is logged once). -> the policy in the environment now."""
    chosen = os.environ.get(WAIT_POLICY_VARIABLE)
    if chosen:
        return chosen
    os.environ[WAIT_POLICY_VARIABLE] = DEFAULT_WAIT_POLICY
    if "torch" in sys.modules:
        log.warning(
            "torch was loaded before vos_core: its OpenMP threads spin while they wait; import "
            "vos_core first or set %s=%s", WAIT_POLICY_VARIABLE, DEFAULT_WAIT_POLICY,
        )
    return DEFAULT_WAIT_POLICY


def cpu_cores() -> int:
    """Logical cores of this machine (at least 1)."""
    return os.cpu_count() or 1


@dataclass(frozen=True)
class ThreadBudget:
    """Threads for one engine.

    total: the cores the engine may use.
    encoder: intra-op threads of the frame encoder (ONNX Runtime or torch), which encodes the next
        frame on them while the readout of the current frame runs on the others.
    readout: torch intra-op threads of the memory readout and decoder (the rest of ``total``).
    background: threads for work beside the engine (mask writes, GrabCut in the app).
    """

    total: int
    encoder: int
    readout: int
    background: int

    @staticmethod
    def of(threads: int = 0, reserve: int = 0) -> ThreadBudget:
        """The budget for ``threads`` engine threads (0 = every core but ``reserve``, which are
        left to the caller, e.g. one core for a GUI)."""
        if threads < 0 or reserve < 0:
            raise ValueError("thread counts must be >= 0")
        cores = cpu_cores()
        total = threads or max(1, cores - reserve)
        return ThreadBudget(
            total=total,
            encoder=max(1, total // 2),
            readout=max(1, total - total // 2),
            background=max(1, cores - total),
        )

    def apply(self) -> None:
        """Set torch's intra-op thread count of this process to the readout's share."""
        import torch

        torch.set_num_threads(self.readout)


class CoreMeter:
    """How many cores the other processes leave to this one: from ``/proc/stat`` (the machine's busy
    time) less this process's own CPU time, over the time since the previous reading. Sizes a
    refit's threads to what the CPU can give (beside one busy process on 2 cores: 1 thread, which
    then owns a core, instead of 2 threads that wait for each other's time slices)."""

    #: a reading needs at least this many seconds of history (``/proc/stat`` counts 10 ms ticks)
    MIN_WINDOW_S = 0.25

    def __init__(self) -> None:
        self._mark = self._sample()

    @staticmethod
    def _sample() -> tuple[float, float, float] | None:
        """(busy seconds of the whole machine, this process's CPU seconds, wall clock) or None."""
        try:
            with open("/proc/stat", encoding="ascii") as stat:
                fields = [int(v) for v in stat.readline().split()[1:9]]
        except (OSError, ValueError):
            return None
        if len(fields) < 8:
            return None
        user, nice, system, _idle, _iowait, irq, softirq, steal = fields
        ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        busy = (user + nice + system + irq + softirq + steal) / ticks
        return busy, time.process_time(), time.perf_counter()

    def free(self) -> float | None:
        """Cores not used by other processes since the previous reading (or the meter's start),
        then starts a new window; None when unknown (no ``/proc/stat``) or the window is too short."""
        now = self._sample()
        mark = self._mark
        if now is None or mark is None or now[2] - mark[2] < self.MIN_WINDOW_S:
            return None
        self._mark = now
        others = max(0.0, (now[0] - mark[0]) - (now[1] - mark[1])) / (now[2] - mark[2])
        return max(0.0, cpu_cores() - others)

    def threads(self, default: int) -> int:
        """Threads to use now: the free cores rounded (at least 1), else ``default``."""
        free = self.free()
        if free is None:
            return default
        return max(1, min(cpu_cores(), int(free + 0.5)))


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Run the block with ``threads`` torch intra-op threads (0 = every core), then restore the
    caller's count (also on error)."""
    import torch

    if threads < 0:
        raise ValueError("thread counts must be >= 0")
    before = torch.get_num_threads()
    torch.set_num_threads(threads or cpu_cores())
    try:
        yield
    finally:
        torch.set_num_threads(before)
