"""Shared pytest fixtures for the whole test suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

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
