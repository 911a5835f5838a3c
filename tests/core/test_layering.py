"""vos_core is the Qt-free engine: importing every module must not pull in PySide6."""

import pkgutil
import subprocess
import sys
from pathlib import Path

import vos_core

ROOT = Path(__file__).resolve().parents[2]


def test_vos_core_never_imports_qt() -> None:
    modules = [m.name for m in pkgutil.walk_packages(vos_core.__path__, "vos_core.")]
    assert "vos_core.inference.session" in modules
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'shiboken6', 'PyQt'))]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)
