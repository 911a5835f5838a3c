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
