"""bench/gpu_check.py runs end to end on the CPU at small sizes (so that it never rots)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.core.train.pack_sources import make_davis, make_static
from vos_core.data.pack import write_pack
from vos_core.models.registry import default_arch, usable_arch_names

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_gpu_check_small_on_cpu(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                monkeypatch: pytest.MonkeyPatch, one_thread: None) -> None:
    write_pack(tmp_path / "pack", 20, davis=make_davis(tmp_path / "davis"),
               static=make_static(tmp_path / "static"), crop=64)
    monkeypatch.syspath_prepend(str(BENCH))
    import gpu_check

    try:
        code = gpu_check.main(["--device", "cpu", "--small", "--pack", str(tmp_path / "pack")])
    finally:
        for name in ("gpu_check", "bench_engine"):
            sys.modules.pop(name, None)
    out = capsys.readouterr().out
    assert code == 0, out
    rows = {line.split()[0]: line.split() for line in out.splitlines()
            if line.split() and line.split()[0] in usable_arch_names() and line.split()[-1] in ("yes", "NO")}
    assert sorted(rows) == usable_arch_names()
    for cells in rows.values():  # J&F torch, J&F cpu, |diff|, agree
        assert 0 <= float(cells[1]) <= 1 and 0 <= float(cells[2]) <= 1 and cells[4] == "yes"
    fps = [line.split() for line in out.splitlines()
           if line.startswith(default_arch() + " ") and "p/4" in line]
    expected = [("480p/4", "1"), ("480p/4", "3"), ("1080p/4", "1"), ("1080p/4", "3")]
    assert [(r[1], r[2]) for r in fps] == expected
    assert all(float(r[3]) > 0 for r in fps)
    train = next(line for line in out.splitlines() if line.startswith("stcn:") and "it/s" in line)
    assert float(train.split()[1]) > 0
    assert "all checks passed" in out
