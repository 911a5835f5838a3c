"""Shared pytest fixtures for the whole test suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from pytestqt.qtbot import QtBot

#: Every pytest-qt signal blocker stays alive until the process ends. The engine's signals come from
#: its thread as queued calls; one already queued when a blocker had disconnected and been freed was
#: delivered to the freed blocker under PySide6 6.12 (SIGSEGV in ``_quit_loop_by_signal``, 3 of 4 runs
#: of tests/app/workers/test_app_references.py on a fresh clone).
_BLOCKERS: list[object] = []
_wait_signal = QtBot.waitSignal


def _wait_signal_kept(self: QtBot, *args: object, **kwargs: object) -> object:
    blocker = _wait_signal(self, *args, **kwargs)
    _BLOCKERS.append(blocker)
    return blocker


QtBot.waitSignal = _wait_signal_kept  # type: ignore[method-assign]

# Read-only shared data lives next to the repository: <repo>/../shared/data
SHARED_DATA_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The read-only shared data folder; the test is skipped when it is absent."""
    path = SHARED_DATA_DIR.resolve()
    if not path.is_dir():
        pytest.skip(f"shared data not available at {path}")
    return path


@pytest.fixture
def training_free_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hide ``weights/`` (subprocesses inherit the variable) so that the default architecture is the
    training-free ``propagation``: for tests of input handling and CLI mechanics on tiny, flat
    synthetic frames, below what the learned models' stride-16 keys resolve."""
    monkeypatch.setenv("VOS_WEIGHTS_DIR", str(tmp_path / "no-weights"))


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One intra-op torch thread for the test (the machine is small and shared: stable timings)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
