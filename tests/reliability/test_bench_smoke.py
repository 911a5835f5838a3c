"""The long-video benchmark runs (a few frames) and its bank check passes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_bench_long_video_smoke(
    qapp, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(BENCH))
    import bench_long_video

    assert bench_long_video.main(["--frames", "120", "--height", "64", "--threads", "1", "--store"]) == 0
    out = capsys.readouterr().out
    assert "bank within its configured limits at every frame: OK" in out
    rows = [line.split() for line in out.splitlines() if line.strip().split(" ")[0] in ("100", "120")]
    assert [row[0] for row in rows] == ["100", "120"]
    for name in ("bench_long_video", "bench_engine"):
        sys.modules.pop(name, None)


def test_bench_archs_smoke(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                           tmp_path: Path) -> None:
    """One architecture in its own process, a few frames, no dev split: a Markdown row with figures."""
    monkeypatch.syspath_prepend(str(BENCH))
    import bench_archs

    args = ["--archs", "propagation", "--frames", "12", "--threads", "1", "--davis", str(tmp_path / "none")]
    assert bench_archs.main(args) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("| propagation"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "training-free" and cells[2] == "**-**"
    assert float(cells[3]) > 0 and cells[4] == "480p"  # fps, processing height
    assert cells[6].endswith("MB") and float(cells[6].split()[0]) > 50
    for name in ("bench_archs", "bench_engine"):
        sys.modules.pop(name, None)
