"""The OpenMP wait policy, the thread budget, and the threads lent to a refit."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from vos_core.threads import (
    DEFAULT_WAIT_POLICY,
    WAIT_POLICY_VARIABLE,
    ThreadBudget,
    cpu_cores,
    torch_threads,
)


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


def _policy_after_import(env_policy: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != WAIT_POLICY_VARIABLE}
    if env_policy is not None:
        env[WAIT_POLICY_VARIABLE] = env_policy
    code = "import vos_core, torch, os; print(os.environ.get('OMP_WAIT_POLICY'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return out.stdout.split()[0]


def test_importing_vos_core_makes_openmp_wait_passively_unless_the_user_chose() -> None:
    assert _policy_after_import(None) == DEFAULT_WAIT_POLICY == "PASSIVE"
    assert _policy_after_import("ACTIVE") == "ACTIVE"
    # this very process: tests/__init__.py imports vos_core before anything loads torch
    assert os.environ.get(WAIT_POLICY_VARIABLE)
