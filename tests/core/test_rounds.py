"""The rounds benchmark (``python -m vos_core.rounds``) on a tiny DAVIS-style dataset."""

from __future__ import annotations

import argparse
import csv
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.core.test_cli import first_mask, frame
from vos_core import rounds
from vos_core import rounds_annotator as annotator
from vos_core.data.masks import write_mask

pytestmark = pytest.mark.usefixtures("training_free_default")  # see tests/conftest.py
CLICK_WEIGHTS = Path(__file__).resolve().parents[2] / "weights" / "clicks.pt"
FRAMES = 8


@pytest.fixture(scope="module")
def davis(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("davis_rounds")
    images, annotations = root / "JPEGImages" / "480p" / "box", root / "Annotations" / "480p" / "box"
    images.mkdir(parents=True)
    annotations.mkdir(parents=True)
    for i in range(FRAMES):
        Image.fromarray(frame(i)).save(images / f"{i:05d}.jpg", quality=95)
        write_mask(annotations / f"{i:05d}.png", np.roll(first_mask(), 2 * i, axis=1))
    return root


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("update", ["around", "forward"])
def test_ground_truth_rounds(
    update: str, davis: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "rounds.csv"
    args = ["--davis", str(davis), "--sequences", "box", "--rounds", "3", "--no-adapt", "--threads", "1",
            "--update", update, "--csv", str(table)]
    assert rounds.main(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("# rounds=3 correction=gt pick=truth adapt=False")
    per_round = [line for line in out if line.startswith("box  round=")]
    assert len(per_round) == 4 and all(re.search(r"J&F=\d\.\d{4}  refit=", line) for line in per_round)
    assert re.fullmatch(r"AUC \d\.\d{4}", out[-1])
    got = rows(table)
    assert [int(r["round"]) for r in got] == [0, 1, 2, 3]
    corrected = [int(r["frame"]) for r in got[1:]]
    assert len(set(corrected)) == 3 and all(1 <= f <= FRAMES - 2 for f in corrected)  # scored frames
    jf = [float(r["jf"]) for r in got]
    assert jf[-1] >= jf[0] - 1e-6 and jf[-1] > 0.5
    assert int(got[0]["frames_run"]) == FRAMES - 1  # round 0: the first-frame pass


def test_click_rounds_pick_by_quality(davis: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--davis", str(davis), "--sequences", "box", "--rounds", "2", "--no-adapt", "--threads", "1",
            "--correction", "clicks", "--pick", "quality", "--click-weights", str(CLICK_WEIGHTS)]
    assert rounds.main(args) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("box  round=")]
    clicks = [int(re.search(r"clicks=(\d+)", line).group(1)) for line in lines]  # type: ignore[union-attr]
    assert clicks[0] == 0 and all(0 <= c <= annotator.MAX_CLICKS for c in clicks[1:])


def test_bad_input_is_one_error_line(davis: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert rounds.main(["--davis", str(davis), "--sequences", "nope"]) == 2
    assert rounds.main(["--davis", str(davis), "--agree-iou", "1.5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("error: ") for line in err)


def test_area_under_curve() -> None:
    assert rounds.area_under_curve([0.5, 0.7, 0.9]) == pytest.approx(0.7)
    assert rounds.area_under_curve([0.8]) == pytest.approx(0.8)


def test_a_click_correction_erases_an_object_the_ground_truth_does_not_have() -> None:
    pred = np.zeros((20, 20), np.uint8)
    pred[2:8, 2:8] = 1  # predicted where the object has left
    pred[10:18, 10:18] = 2  # right already (IoU 1): no click
    gt = np.where(pred == 2, 2, 0).astype(np.uint8)
    out, made = annotator.click_correction(object(), np.zeros((20, 20, 3), np.uint8), pred, gt)
    assert made == 1 and np.array_equal(out, gt)


def test_carry_must_not_be_negative(davis: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert rounds.main(["--davis", str(davis), "--carry", "-1"]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_a_frame_right_already_is_reviewed_and_the_next_worst_is_corrected() -> None:
    gt = np.zeros((20, 20), np.uint8)
    gt[5:15, 5:15] = 1
    right, wrong, absent = gt.copy(), np.zeros_like(gt), np.zeros_like(gt)
    wrong[5:15, 5:9] = 1  # J 0.4
    preds, gts = [gt, right, wrong, right, gt], [gt, gt, gt, gt, gt]
    quality = {0: 1.0, 1: 0.1, 2: 0.5, 3: 0.2, 4: 1.0}  # the estimate ranks the right frames worst
    args = argparse.Namespace(looks=5, pick="quality", correction="clicks")
    reviewed: set[int] = set()
    assert annotator.pick_frame(args, preds, gts, quality, {0}, reviewed) == (2, 3)
    assert reviewed == {1, 3}  # kept as they are, never picked again
    one_look = argparse.Namespace(looks=1, pick="quality", correction="clicks")
    assert annotator.pick_frame(one_look, preds, gts, quality, {0}, set()) == (1, 1)
    # an object predicted where the ground truth has none needs a correction (the Clear of it)
    assert annotator.needs_correction(gt, absent) and not annotator.needs_correction(absent, absent)
    assert not annotator.needs_correction(right, gt) and annotator.needs_correction(wrong, gt)
