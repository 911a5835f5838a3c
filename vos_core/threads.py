"""The one CPU budget: how many threads the encoder, the readout and background work get.

Computed here only. Nothing in ``vos_core`` changes torch's global thread count behind the caller's
back: entry points (the CLIs, the app's engine thread, benches) call :meth:`ThreadBudget.apply`; the
one exception is :func:`torch_threads`, which lends a burst of work (the adaptation's refit, which
runs before a run's frames, never beside them) more threads and gives the count back after.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch


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
        torch.set_num_threads(self.readout)


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Run the block with ``threads`` torch intra-op threads (0 = every core), then restore the
    caller's count (also on error)."""
    if threads < 0:
        raise ValueError("thread counts must be >= 0")
    before = torch.get_num_threads()
    torch.set_num_threads(threads or cpu_cores())
    try:
        yield
    finally:
        torch.set_num_threads(before)
