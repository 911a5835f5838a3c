"""Crash safety with real processes: SIGKILL a child mid-work, then reopen what it left in-process.

The child (``kill_helper.py``) reports on stdout what is complete; everything it reported must be
intact after the kill, temp files must never pass for masks, and the project must load. The
propagation CLI is killed (SIGKILL) and interrupted (SIGINT, Ctrl-C) mid-run: the masks it wrote
stay, whole, and ``--resume`` finishes the run to the same bytes as an uninterrupted one.
"""

from __future__ import annotations

import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.model.document import Document
from app.model.project import SCHEMA_VERSION, Project
from app.workers.davis_export import import_davis_annotations
from app.workers.export import ExportWorker, export_job_for
from tests.reliability.corpus import first_mask, folder_with_non_images, good_video
from tests.reliability.kill_helper import round_labels

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
HELPER = Path(__file__).with_name("kill_helper.py")
ENV = dict(os.environ, PYTHONPATH=str(REPO), QT_QPA_PLATFORM="offscreen", OMP_NUM_THREADS="1")


class Child:
    """A helper process whose stdout lines are collected by a reader thread."""

    def __init__(self, *args: str | Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=ENV, text=True, cwd=REPO,
        )  # fmt: skip
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.strip())
        self._queue.put(None)

    def wait_for(self, condition: Callable[[list[str]], bool], timeout_s: float = 180.0) -> list[str]:
        end = time.monotonic() + timeout_s
        while not condition(self.lines):
            try:
                line = self._queue.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                self.kill()
                pytest.fail(f"child timed out; said {self.lines[-5:]}")
            if line is None:
                stderr = self.process.stderr.read() if self.process.stderr else ""
                pytest.fail(f"child ended early; said {self.lines[-5:]}; stderr {stderr[-2000:]}")
            self.lines.append(line)
        return list(self.lines)

    def kill(self, jitter_s: float = 0.0) -> None:
        self.stop(signal.SIGKILL, jitter_s)

    def stop(self, signal_: signal.Signals, jitter_s: float = 0.0) -> str:
        """Send ``signal_`` after a random delay, wait for the end; return what it wrote on stderr."""
        time.sleep(random.uniform(0.0, jitter_s))  # land anywhere: mid-write or between writes
        self.process.send_signal(signal_)
        self.process.wait(timeout=60)
        stderr = self.process.stderr.read() if self.process.stderr else ""
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        return stderr


def reported(lines: list[str], word: str) -> list[int]:
    return [int(line.split()[1]) for line in lines if line.startswith(f"{word} ")]


def plant_stale_temp_files(project_dir: Path) -> None:
    """What a kill in the middle of ``atomic_write_bytes`` leaves: hidden, half-written temp files."""
    (project_dir / "masks" / ".00003.k1ll3d.tmp.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (project_dir / ".project.k1ll3d.tmp.json").write_text('{"version": 1, "objec')


def check_json(project_dir: Path) -> dict:
    data = json.loads((project_dir / "project.json").read_text(encoding="utf-8"))
    assert data["version"] == SCHEMA_VERSION
    return data


def check_reopened(project: Project) -> None:
    """No problems, no temp file left or taken for a mask, every listed mask decodes."""
    assert project.problems == []
    names = sorted(p.name for p in project.masks_dir.iterdir())
    assert names == [f"{frame:05d}.png" for frame in sorted(project.sources)]
    assert not list(project.directory.glob(".*tmp*"))
    for frame in project.sources:
        labels = project.read_mask(frame)
        assert labels is not None and labels.shape == project.size


def test_kill_during_propagation(qapp, tmp_path: Path) -> None:
    video = good_video(tmp_path, n=60)
    child = Child(HELPER, "propagate", video)
    lines = child.wait_for(lambda got: len(reported(got, "saved")) >= 6)
    child.kill(jitter_s=0.05)
    saved = reported(lines, "saved")
    assert saved == list(range(1, len(saved) + 1))
    project_dir = video.parent / "clip.vosproj"
    check_json(project_dir)
    plant_stale_temp_files(project_dir)
    project = Project.open_for(video)
    check_reopened(project)
    assert project.annotated_frames() == [0]
    propagated = project.propagated_frames()
    assert set(saved) <= set(propagated)  # everything reported survived the kill
    assert propagated == list(range(1, len(propagated) + 1))  # and nothing but whole frames after
    np.testing.assert_array_equal(project.read_mask(0), first_mask(project.size))
    for frame in propagated:
        assert set(np.unique(project.read_mask(frame))) <= {0, 1}
    document = Document.open(video)  # the whole app model opens it too
    try:
        assert document.masks.frames() == [0, *propagated] and len(document.objects) == 1
    finally:
        document.close()


def _complete_image(path: Path) -> None:
    with Image.open(path) as image:
        image.load()  # raises on a truncated file


def test_kill_during_export(qapp, tmp_path: Path) -> None:
    video = good_video(tmp_path, n=40, name="scene.mp4")
    out = tmp_path / "export"
    child = Child(HELPER, "export", video, out)
    lines = child.wait_for(lambda got: len(reported(got, "exported")) >= 5)
    child.kill(jitter_s=0.02)
    exported = reported(lines, "exported")
    files = [p for p in out.rglob("*") if p.is_file() and not p.name.startswith(".")]
    for path in files:  # every file under its final name is complete
        assert path.suffix in (".jpg", ".png", ".txt", ".mp4"), path
        if path.suffix in (".jpg", ".png"):
            _complete_image(path)
    if "done" not in lines:  # an unfinished export never shows a (half) overlay video
        assert not (out / "scene_overlay.mp4").exists()
    hw = Image.open(next((out / "JPEGImages" / "480p" / "scene").iterdir())).size[::-1]
    annotations = out / "Annotations" / "480p" / "scene"
    masks = import_davis_annotations(annotations, 40, hw)  # hidden temp files are not masks
    assert set(range(max(exported))) <= set(masks)
    for frame, labels in masks.items():
        np.testing.assert_array_equal(labels, round_labels(1, frame, hw))
    # the same export run again over the remains completes
    document = Document.open(video)
    try:
        worker = ExportWorker(export_job_for(document, out, per_object=True))
        worker.run()
        assert worker.error is None
    finally:
        document.close()
    assert sorted(import_davis_annotations(annotations, 40, hw)) == list(range(40))
    assert (out / "ImageSets" / "480p" / "val.txt").read_text() == "scene\n"


def test_kill_during_autosave(qapp, tmp_path: Path) -> None:
    video = good_video(tmp_path, n=12)
    child = Child(HELPER, "autosave", video)
    lines = child.wait_for(lambda got: len(reported(got, "saved")) >= 3)
    child.kill(jitter_s=0.03)
    last = reported(lines, "saved")[-1]
    project_dir = video.parent / "clip.vosproj"
    check_json(project_dir)
    plant_stale_temp_files(project_dir)
    project = Project.open_for(video)
    check_reopened(project)
    assert project.annotated_frames() == list(range(12))
    for frame in range(12):  # the last reported round, or the next one: never older, never broken
        labels = project.read_mask(frame)
        assert labels is not None
        assert any(np.array_equal(labels, round_labels(r, frame, project.size)) for r in (last, last + 1))
    assert [info.id for info in project.objects] == [1, 2, 3]
    assert project.objects[0].name in (f"round {last}", f"round {last + 1}")


def cli_args(frames: Path, mask: Path, out: Path) -> list[str | Path]:
    """The propagation CLI with the cheapest model (training-free) on one thread."""
    return ["-m", "vos_core.propagate", frames, "--masks", mask, "--out", out, "--arch", "propagation",
            "--threads", "1", "--quiet"]  # fmt: skip


def masks_in(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if not p.name.startswith(".")) if out.is_dir() else []


@pytest.fixture(scope="module")
def cli_reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """80 tiny frames, their first mask and the output of one uninterrupted CLI run."""
    root = tmp_path_factory.mktemp("cli_kill")
    frames = folder_with_non_images(root, n=80)
    mask = root / "mask.png"
    Image.fromarray(first_mask()).save(mask)
    whole = root / "whole"
    done = subprocess.run([sys.executable, *map(str, cli_args(frames, mask, whole))], env=ENV, cwd=REPO,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert len(masks_in(whole)) == 80
    return frames, mask, whole


@pytest.mark.parametrize("signal_", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_interrupted_cli_keeps_its_masks_and_resumes_to_the_same_files(
    signal_: signal.Signals, cli_reference: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    frames, mask, whole = cli_reference
    out = tmp_path / "out"
    child = Child(*cli_args(frames, mask, out))
    end = time.monotonic() + 180
    while len(masks_in(out)) < 5:
        assert child.process.poll() is None and time.monotonic() < end, "the CLI ended too early"
        time.sleep(0.01)
    stderr = child.stop(signal_, jitter_s=0.05)
    if signal_ == signal.SIGINT:  # Ctrl-C: a clean exit that says how to finish
        assert child.process.returncode == 130, stderr
        assert "error: interrupted" in stderr and "--resume" in stderr and "Traceback" not in stderr
    else:
        assert child.process.returncode == -signal.SIGKILL
    kept = masks_in(out)
    assert 5 <= len(kept) < 80
    for path in kept:  # every mask under its final name is whole, and the one the full run made
        _complete_image(path)
        assert path.read_bytes() == (whole / path.name).read_bytes()
    resumed = subprocess.run([sys.executable, *map(str, cli_args(frames, mask, out)), "--resume"],
                             env=ENV, cwd=REPO, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(kept)} were there already" in resumed.stdout
    files = {p.name: p.read_bytes() for p in out.iterdir()}  # no temp file left either
    assert files == {p.name: p.read_bytes() for p in whole.iterdir()}
