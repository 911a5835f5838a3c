"""The thread budget, and the threads lent to a refit."""

from __future__ import annotations

import pytest
import torch

from vos_core.threads import ThreadBudget, cpu_cores, torch_threads


def test_budget_leaves_the_reserved_cores() -> None:
    budget = ThreadBudget.of(0, reserve=1)
    assert budget.total == max(1, cpu_cores() - 1)
    assert budget.encoder + budget.readout >= budget.total


def test_torch_threads_lends_and_restores_even_on_error() -> None:
    before = torch.get_num_threads()
    with torch_threads(0):
        assert torch.get_num_threads() == cpu_cores()
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), torch_threads(1):
        assert torch.get_num_threads() == 1
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError):
        with torch_threads(-1):
            pass
