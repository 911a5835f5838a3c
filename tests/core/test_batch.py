"""``vos_core.batch``: many videos through a local process pool and a local Ray instance, bad entries
skipped, labels as first masks, and a killed batch resumed to the same bytes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vos_core.batch import main, read_manifest
from vos_core.data.masks import write_mask
from vos_core.formats import ExportObject, export_frames, format_writer

REPO = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
MODEL = ["--arch", "propagation", "--threads", "1", "--quiet"]


def frame(i: int, shift: int) -> np.ndarray:
    rng = np.random.default_rng(shift)
    rgb = (rng.random((12, 16, 3)) * 120 + 40).astype(np.uint8).repeat(4, 0).repeat(4, 1)
    x = 4 + (2 * i + shift) % 40
    rgb[16:32, x : x + 16] = (230, 40, 30)
    return rgb


def first_mask(shift: int) -> np.ndarray:
    labels = np.zeros((48, 64), np.uint8)
    x = 4 + shift % 40
    labels[16:32, x : x + 16] = 1
    return labels


def make_videos(root: Path, count: int = 3, n: int = 10) -> Path:
    """``count`` frame folders with their first masks, and a JSON manifest of them."""
    videos = []
    for k in range(count):
        folder = root / f"video{k}"
        folder.mkdir(parents=True)
        for i in range(n + k):
            Image.fromarray(frame(i, k)).save(folder / f"{i:05d}.png")
        write_mask(root / f"video{k}.png", first_mask(k))
        videos.append({"source": f"video{k}", "masks": f"video{k}.png"})
    manifest = root / "videos.json"
    manifest.write_text(json.dumps({"videos": videos}))
    return manifest


def outputs(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_three_videos_through_a_local_pool_then_again_skipped(tmp_path: Path, capsys) -> None:
    manifest = make_videos(tmp_path / "in")
    out = tmp_path / "out"
    assert main([str(manifest), "--out", str(out), "--workers", "2", *MODEL]) == 0
    said = capsys.readouterr().out
    assert "3 of 3 videos done" in said
    for k in range(3):
        masks = sorted(p.name for p in (out / f"video{k}").glob("*.png"))
        assert masks == [f"{i:05d}.png" for i in range(10 + k)]
        assert json.loads((out / f"video{k}" / ".vos-propagate.json").read_text())["complete"]
    before = outputs(out)
    assert main([str(manifest), "--out", str(out), "--workers", "2", *MODEL]) == 0
    assert "already complete" in capsys.readouterr().out
    assert outputs(out) == before


def test_bad_entries_are_reported_and_skipped(tmp_path: Path, capsys) -> None:
    manifest = make_videos(tmp_path / "in", count=1)
    text = tmp_path / "in" / "list.txt"
    text.write_text(
        "# source  first masks  name\n"
        "video0 video0.png\n"
        "missing.mp4 video0.png gone\n"
        "video0 nowhere.png again\n"
        "too many fields here\n"
        "video0 video0.png video0\n"  # the name is taken
    )
    entries, bad = read_manifest(text)
    assert [e.name for e in entries] == ["video0", "gone", "again"]
    assert len(bad) == 2
    out = tmp_path / "out"
    assert main([str(text), "--out", str(out), *MODEL]) == 2
    captured = capsys.readouterr()
    assert "1 of 5 videos done" in captured.out and "4 failed" in captured.out
    assert captured.err.count("error: ") == 4
    assert len(list((out / "video0").glob("*.png"))) == 10
    assert manifest.is_file()


def test_coco_labels_are_first_masks(tmp_path: Path) -> None:
    make_videos(tmp_path / "in", count=1)
    coco = tmp_path / "in" / "coco"
    labels = first_mask(0) * 2  # object id 2
    writer = format_writer("coco", coco, "video0", [ExportObject(2, "box")], labels.shape, 10)
    export_frames(writer, 10, lambda i: labels if i == 0 else np.zeros_like(labels))
    manifest = tmp_path / "in" / "labels.json"
    entry = {"source": "video0", "labels": "coco/annotations/instances_video0.json", "name": "from_coco"}
    manifest.write_text(json.dumps([entry]))
    out = tmp_path / "out"
    assert main([str(manifest), "--out", str(out), *MODEL]) == 0
    assert json.loads((out / ".given" / "from_coco" / "objects.json").read_text())["objects"] == [
        {"id": 2, "name": "box"}
    ]
    first = np.array(Image.open(out / "from_coco" / "00000.png"))
    np.testing.assert_array_equal(first, labels)


def test_three_videos_through_a_local_ray_instance(tmp_path: Path, capsys, monkeypatch) -> None:
    ray = pytest.importorskip("ray", reason='Ray is not installed (pip install -e ".[cluster]")')
    manifest = make_videos(tmp_path / "in")
    pooled = tmp_path / "pooled"
    assert main([str(manifest), "--out", str(pooled), "--workers", "2", *MODEL]) == 0
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # the Ray workers import this checkout
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        out = tmp_path / "ray"
        assert main([str(manifest), "--out", str(out), "--ray", "auto", *MODEL]) == 0
    finally:
        ray.shutdown()
    assert "3 of 3 videos done" in capsys.readouterr().out
    assert outputs(out) == outputs(pooled)  # the same bytes, whoever ran them


def kill_then_resume(command: Callable[[Path], list[str]], tmp_path: Path, kill_after: int) -> tuple:
    """Run ``command`` whole; run it again, SIGKILL its process group (workers included) once
    ``kill_after`` masks are written, then run it once more. -> (whole outputs, outputs at the
    kill, the resumed run, its outputs)."""
    whole = tmp_path / "whole"
    done = subprocess.run(command(whole), env=ENV, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out"
    child = subprocess.Popen(command(out), env=ENV, cwd=REPO, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    end = time.monotonic() + 600
    while len(list(out.glob("*/*.png"))) < kill_after:
        assert child.poll() is None and time.monotonic() < end, "the batch ended before it was killed"
        time.sleep(0.05)
    os.killpg(child.pid, signal.SIGKILL)
    child.wait(timeout=60)
    partial = outputs(out)
    resumed = subprocess.run(command(out), env=ENV, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert resumed.returncode == 0, resumed.stderr
    return outputs(whole), partial, resumed, outputs(out)


@pytest.mark.slow
def test_killed_batch_resumes_to_the_same_bytes(shared_data_dir: Path, tmp_path: Path) -> None:
    """The five dev videos, two at a time: killed mid-run (SIGKILL to the whole process group),
    the same command finishes every video to the bytes of an uninterrupted run."""
    root = shared_data_dir / "davis2016-train"
    if not root.is_dir():
        pytest.skip("no DAVIS dev data")
    from vos_core.data.davis import DEV_SEQUENCES

    lines = [f"{root}/JPEGImages/480p/{seq} {root}/Annotations/480p/{seq}/00000.png" for seq in DEV_SEQUENCES]
    manifest = tmp_path / "dev.txt"
    manifest.write_text("\n".join(lines) + "\n")

    def command(out: Path) -> list[str]:
        model = ["--arch", "propagation", "--threads", "1", "--no-adapt", "--process-height", "240"]
        batch = [sys.executable, "-m", "vos_core.batch", str(manifest), "--out", str(out), "--workers", "2"]
        return [*batch, *model, "--quiet"]

    whole, partial, _resumed, resumed_out = kill_then_resume(command, tmp_path, kill_after=40)
    pngs = [sum(name.endswith(".png") for name in files) for files in (partial, whole)]
    assert 40 <= pngs[0] < pngs[1]
    assert resumed_out == whole


@pytest.mark.slow
def test_killed_ray_batch_resumes_to_the_same_bytes(tmp_path: Path) -> None:
    """The same through Ray: ``--ray local`` starts a Ray instance in the batch's process group;
    SIGKILL to the group ends the driver and Ray's workers; the same command finishes the videos."""
    pytest.importorskip("ray", reason='Ray is not installed (pip install -e ".[cluster]")')
    manifest = make_videos(tmp_path / "in", count=3, n=150)

    def command(out: Path) -> list[str]:
        batch = [sys.executable, "-m", "vos_core.batch", str(manifest), "--out", str(out), "--ray", "local"]
        return [*batch, *MODEL]

    whole, partial, resumed, resumed_out = kill_then_resume(command, tmp_path, kill_after=30)
    assert sum(name.endswith(".png") for name in partial) < 3 * 150 + 3
    # what the killed run wrote is reused: a video resumed part-way, or one that had finished (Ray's
    # workers may finish the video they hold before the kill reaches them)
    assert "were there already" in resumed.stdout or "is already complete" in resumed.stdout
    assert resumed_out == whole
