"""The import contracts of ``[tool.importlinter]`` in pyproject.toml hold (import-linter)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def lint_imports_command() -> list[str]:
    script = Path(sys.executable).with_name("lint-imports")
    found = str(script) if script.exists() else shutil.which("lint-imports")
    if found is None:
        pytest.fail("lint-imports is not installed (pip install -e '.[dev]')")
    return [found]


def test_the_contracts_are_configured() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    kinds = sorted(contract["type"] for contract in config["contracts"])
    assert kinds == ["acyclic_siblings", "forbidden", "forbidden", "layers"]
    forbidden = {c["source_modules"][0]: c["forbidden_modules"] for c in config["contracts"]
                 if c["type"] == "forbidden"}  # fmt: skip
    assert set(forbidden["vos_core"]) == {"PySide6", "pyqtgraph", "qtawesome", "app"}
    assert forbidden["app"] == ["vos_core.*"]


def test_import_contracts_are_kept() -> None:
    done = subprocess.run(
        [*lint_imports_command(), "--no-cache", "--no-logo"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    counts = re.search(r"Contracts: (\d+) kept, (\d+) broken", report)
    assert counts is not None and counts.groups() == ("4", "0"), report
