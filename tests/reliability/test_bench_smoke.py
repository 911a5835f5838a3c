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
    assert cells[1] == "training-free" and cells[2] == "**-**" and cells[3] == "-" and cells[4] == "-"
    assert float(cells[5]) > 0 and cells[6] == "480p"  # fps, processing height
    assert cells[8].endswith("MB") and float(cells[8].split()[0]) > 50
    for name in ("bench_archs", "bench_engine"):
        sys.modules.pop(name, None)


def test_bench_archs_table_has_adapted_and_own_scores(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both dev scores and the adaptation's seconds reach the README tables, per sequence too."""
    monkeypatch.syspath_prepend(str(BENCH))
    import bench_archs

    own = {"bmx-bumps": 0.5, "lucia": 0.7, "mean": 0.6}
    adapted = {"bmx-bumps": 0.7, "lucia": 0.9, "mean": 0.8}
    row = bench_archs.ArchRow(arch="stcn", trained=True, head_params=10**6, encoder_params=4 * 10**6,
                              fps=9.5, frames=100, peak_rss_mb=600.0, process_height=384,
                              dev_jf=own, dev_jf_adapt=adapted, adapt_s=7.25)
    lines = bench_archs.markdown([row]).splitlines()
    main = [c.strip() for c in lines[2].strip("|").split("|")]
    assert main[:6] == ["stcn", "trained", "**0.800**", "0.600", "7.2 s", "9.50"]
    per_seq = {ln.split("|")[1].strip(): ln for ln in lines if ln.startswith("| stcn, ")}
    assert "0.500 | 0.700 | **0.600**" in per_seq["stcn, own"]
    assert "0.700 | 0.900 | **0.800**" in per_seq["stcn, adapted"]
    sys.modules.pop("bench_archs", None)
