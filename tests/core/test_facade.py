"""The engine facade: every public name resolves lazily and importing the package stays light."""

import importlib.util
import subprocess
import sys

import pytest

import vos_core
from vos_core.threads import ThreadBudget


@pytest.mark.parametrize("name", vos_core.__all__)
def test_every_public_name_resolves(name: str) -> None:
    module = vos_core._EXPORTS[name].split(":")[0]
    if module.startswith("vos_core.interactive.") and importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not there yet")
    assert getattr(vos_core, name) is getattr(importlib.import_module(module), name.split(".")[-1])


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        vos_core.NoSuchThing  # noqa: B018


def test_importing_a_light_module_does_not_load_torch() -> None:
    code = "import sys, vos_core, vos_core.data.masks; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_thread_budget_splits_the_cores() -> None:
    budget = ThreadBudget.of(5)
    assert (budget.total, budget.encoder, budget.readout) == (5, 2, 3)
    assert ThreadBudget.of(1).encoder == 1 and ThreadBudget.of(1).readout == 1
    assert ThreadBudget.of(0).total >= 1
    assert ThreadBudget.of(0, reserve=10**6).total == 1
    with pytest.raises(ValueError):
        ThreadBudget.of(-1)
